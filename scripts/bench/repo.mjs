// Bench section `repo` (issue 8): what `dstack apply` does with a 50 MB folder of 5,000 files (half random,
// incompressible; half text) — pack it into the content-addressed tar.gz and PUT it to a dstack-agent on test
// host dstack-h1 through the SSH tunnel dispatcher the daemon uses for fleet hosts — beside `tar czf` of the same
// folder followed by `scp` to the same host, measured in the same run. Then the second apply of the unchanged
// folder: pack again and ask the agent, counting the bytes PUT (the goal is 0).
// Needs `scripts/test-hosts.sh up 1` and `npm run build` (the agent runs from dist/agent.js on the host).
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleModules, fmt, median } from './lib.mjs';

export const name = 'repo';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FILES = 5_000;
const FILE_BYTES = 10 * 1024;

/** The packer, the agent client, the daemon's uploader and the SSH tunnel, bundled from TypeScript. */
async function loadModules() {
  return bundleModules('repo', [
    "export { packSource } from './src/core/repo/index.ts';",
    "export { AgentClient } from './src/backends/agent-client.ts';",
    "export { RepoUploads } from './src/daemon/reconcile/repo-upload.ts';",
    "export { tunnelDispatcher } from './src/backends/ssh/tunnel.ts';",
    "export { openSsh } from './src/backends/ssh/connect.ts';",
    "export { KnownHosts } from './src/backends/ssh/known-hosts.ts';",
    "export { exec } from './src/backends/ssh/remote.ts';",
  ]);
}

async function generateFolder(dir) {
  await writeFile(join(dir, 'service.dstack.yml'), 'type: service\ncommands: [python3 -m http.server]\nport: 8000\n');
  const line = 'the quick brown fox jumps over the lazy dog 0123456789\n';
  for (let i = 0; i < FILES; i++) {
    const sub = join(dir, `d${String(i % 50).padStart(2, '0')}`);
    if (i < 50) await mkdir(sub, { recursive: true });
    const data = i % 2 === 0 ? randomBytes(FILE_BYTES) : Buffer.from(line.repeat(Math.ceil(FILE_BYTES / line.length)).slice(0, FILE_BYTES) + i);
    await writeFile(join(sub, `f${i}.${i % 2 === 0 ? 'bin' : 'txt'}`), data);
  }
}

function timed(cmd, args) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`bench repo: ${cmd} failed: ${r.stderr}`);
  return performance.now() - t0;
}

export async function run({ runs = 3, log }) {
  const hosts = JSON.parse(await readFile('/run/dstack-test/hosts.json', 'utf8').catch(() => {
    throw new Error('test hosts are not running: sudo scripts/test-hosts.sh up 1');
  }));
  const host = hosts.hosts[0];
  // A private copy: other builds may rewrite dist/ while the bench runs.
  const agentJs = join(ROOT, 'out', 'bench-repo', 'agent.js');
  for (let i = 0; ; i++) {
    if (existsSync(join(ROOT, 'dist/agent.js'))) {
      await mkdir(join(ROOT, 'out', 'bench-repo'), { recursive: true });
      if (await copyFile(join(ROOT, 'dist/agent.js'), agentJs).then(() => true, () => false)) break;
    }
    if (i === 50) throw new Error('no dist/agent.js: run `npm run build`');
    await new Promise((r) => setTimeout(r, 100));
  }
  const work = await mkdtemp(join(tmpdir(), 'bench-repo-'));
  const folder = join(work, 'project');
  const agentHome = `/run/dstack-test/hosts/${host.name.replace('dstack-', '')}/home/bench-repo-agent-${randomUUID().slice(0, 8)}`;
  const cleanups = [() => rm(work, { recursive: true, force: true })];
  try {
    await mkdir(folder);
    await generateFolder(folder);
    log(`generated ${FILES} files, ${((FILES * FILE_BYTES) / 2 ** 20).toFixed(1)} MiB, in ${folder}`);
    const m = await loadModules();
    const conn = await m.openSsh(
      { hostname: host.ip, port: host.sshPort, user: host.user, identityFile: host.identityFile },
      { knownHosts: new m.KnownHosts(hosts.knownHostsFile) },
    );
    cleanups.push(() => conn.end());
    const token = randomUUID();
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const sh = async (cmd) => {
      const r = await m.exec(conn.client, cmd);
      if (r.code !== 0) throw new Error(`bench repo: \`${cmd}\` on ${host.name} failed: ${r.stderr}`);
      return r.stdout;
    };
    await sh(`mkdir -p ${agentHome} && umask 077 && printf %s ${token} > ${agentHome}/token`);
    await sh(`node ${agentJs} start -d --home ${agentHome} --port ${port} --runtime process`);
    cleanups.push(async () => {
      await m.exec(conn.client, `node ${agentJs} stop --home ${agentHome}; rm -rf ${agentHome}`);
    });
    const dispatcher = m.tunnelDispatcher(host.name, () => conn.client);
    cleanups.push(() => dispatcher.close());
    const client = new m.AgentClient({ origin: `http://127.0.0.1:${port}`, token, dispatcher });
    for (let i = 0; i < 100 && !(await client.health().then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
    log(`agent on ${host.name} 127.0.0.1:${port} through the SSH tunnel`);

    const ssh = ['-i', hosts.identityFile, '-o', `UserKnownHostsFile=${hosts.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'];
    const ours = [];
    const packMs = [];
    const baseline = [];
    let archiveBytes = 0;
    let first = { puts: 0, bytes: 0 };
    for (let i = 0; i < runs; i++) {
      const tgz = join(work, 'baseline.tgz');
      baseline.push(timed('tar', ['czf', tgz, '-C', folder, '.']) + timed('scp', [...ssh, '-q', tgz, `${host.user}@${host.ip}:${agentHome}/baseline.tgz`]));

      await sh(`rm -rf ${agentHome}/archives`);
      const archivesDir = join(work, `archives-${i}`);
      const uploads = new m.RepoUploads({ log: () => {}, activeShas: () => new Set(), clock: Date.now });
      const t0 = performance.now();
      const packed = await m.packSource({ configPath: join(folder, 'service.dstack.yml'), repos: [], files: [], archivesDir, env: process.env });
      packMs.push(performance.now() - t0);
      await uploads.ensure(host.name, client, packed);
      ours.push(performance.now() - t0);
      archiveBytes = packed.bytes;
      first = { ...uploads.stats };
      log(`run ${i + 1}: ours ${fmt.ms(ours.at(-1))} ms, tar czf + scp ${fmt.ms(baseline.at(-1))} ms`);
    }

    // The second apply of the unchanged folder: a fresh daemon-side cache, so only the agent's answer decides.
    const again = new m.RepoUploads({ log: () => {}, activeShas: () => new Set(), clock: Date.now });
    const t1 = performance.now();
    const repacked = await m.packSource({ configPath: join(folder, 'service.dstack.yml'), repos: [], files: [], archivesDir: join(work, 'archives-0'), env: process.env });
    await again.ensure(host.name, client, repacked);
    const secondMs = performance.now() - t1;

    const mine = median(ours);
    const ref = median(baseline);
    return {
      title: `Repo upload: pack + PUT of ${FILES} files (${((FILES * FILE_BYTES) / 2 ** 20).toFixed(1)} MiB, half random) to ${host.name} over SSH`,
      columns: ['what', 'median ms', 'vs tar czf + scp', 'PUT requests', 'bytes PUT'],
      rows: [
        ['tar czf + scp (reference)', fmt.ms(ref), fmt.ratio(1), '—', '—'],
        ['dstack: pack + PUT to the agent (SSH tunnel)', fmt.ms(mine), fmt.ratio(mine / ref), first.puts, first.bytes],
        ['… of which pack (collect + tar + gzip + sha256)', fmt.ms(median(packMs)), fmt.ratio(median(packMs) / ref), '—', '—'],
        ['dstack: second apply, folder unchanged', fmt.ms(secondMs), fmt.ratio(secondMs / ref), again.stats.puts, again.stats.bytes],
      ],
      notes: [
        `${runs} runs each, interleaved; archive ${(archiveBytes / 2 ** 20).toFixed(1)} MiB (gzip -6, deterministic); the agent's archive folder is emptied before each of our runs.`,
        'Goal: pack + upload within 1.5× of tar czf + scp; the second apply PUTs 0 bytes (only GET /api/archives/<sha256>).',
        `Agent: dist/agent.js on ${host.name} (process runtime), reached through ssh2 forwardOut channels (src/backends/ssh/tunnel.ts).`,
      ],
    };
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch(() => undefined);
  }
}
