// Bench section `cloud` (issue 13): apply-to-ready of a service on a moto "VM" — a backend fleet `nodes: 0..1`, so
// each sample creates the instance (RunInstances through the test's EC2 front), waits for its address, bootstraps
// it over SSH (agent upload + start) and runs the replica — against the same service on an SSH fleet host brought
// up from scratch in the same sample (fleet apply → host joined → service ready), interleaved, on the same
// namespace host (the front's only address) with the same fresh agent directory. Goal: VM / SSH ≤ 1.2×. A third
// row, for context, is the service on an SSH host that had already joined (issue 5's `fleet` section).
// Between samples the host is cleared as a terminated VM would be: agent ended by pid, containers and agent dir
// removed. moto and the front are the test harness's own (test/helpers/aws); the daemon runs in-process, bundled
// as the product is, under the tests' connect guard (loopback and the namespace host only) and their hosts lock.
// `cloudBench` is the provider-neutral part, shared with cloud-gcp.mjs (issue 16). Needs root,
// `scripts/test-hosts.sh up 1`, moto and `npm run build:binary` (dist/bin/dstack-agent).
// Standalone: `node scripts/bench/cloud.mjs [--runs N]`.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import { bundleEntry, fmt, markdownSection, median, daemonApi, pollUntil } from './lib.mjs';

export const name = 'cloud';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GOAL = 1.2;

/**
 * Test helpers bundled into out/bench-<name>/harness.mjs and imported: `exports` are lines relative to the
 * repository root. Packages stay external: vitest's hooks are never called here. `metaUrlOf`: the file from whose
 * folder the helpers find their fixtures (moto's AMIs), not the bundle's.
 */
export async function loadHarness(name, exports, metaUrlOf) {
  const { build } = await import('esbuild');
  const outfile = join(ROOT, 'out', `bench-${name}`, 'harness.mjs');
  await build({
    bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'error', packages: 'external',
    ...(metaUrlOf ? { define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(ROOT, metaUrlOf)).href) } } : {}),
    stdin: {
      contents: exports.join('\n'),
      resolveDir: ROOT,
      loader: 'ts',
    },
  });
  return import(pathToFileURL(outfile).href);
}

/** What a terminated VM loses, done to the namespace host: the agent (by pid), the run's containers, the agent dir. */
async function clearHost(host, remoteDir, runNames) {
  const dir = join(dirname(host.dockerHost.replace(/^unix:\/\//, '')), 'home', remoteDir);
  const pids = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`${dir}/`))
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const docker = new Docker({ socketPath: host.dockerHost.replace(/^unix:\/\//, '') });
  for (const runName of runNames) {
    const containers = await docker.listContainers({ all: true, filters: { label: [`ai.dstack.run=${runName}`] } });
    for (const c of containers) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
  await rm(dir, { recursive: true, force: true });
}

const isReady = (v) => v.replicas.some((r) => r.status === 'running' && r.ready);

/**
 * One provider's rows: VM from nothing vs SSH host from nothing (interleaved) and the SSH host already joined.
 * `provider`: `section`, `issue`, `vm` (its row's short name, e.g. "moto VM"), `fleet` (extra fields of the
 * nodes 0..1 fleet), and `start({host, hosts, log})` → `{backend, env, createdNote(), close()}`: the cloud's fake
 * with `host` as every instance's address, its backend entry for config.yml, the daemon's env, a note on what it
 * created.
 */
export async function cloudBench(ctx, provider) {
  const { section, issue } = provider;
  const log = ctx.log ?? ((m) => process.stderr.write(`[${section}] ${m}\n`));
  const n = ctx.runs ?? (ctx.quick ? 2 : 4);
  const agentBinary = join(ROOT, 'dist/bin/dstack-agent');
  if (!existsSync(agentBinary)) throw new Error(`bench ${section}: dist/bin/dstack-agent is missing: run npm run build:binary`);
  const hosts = JSON.parse(await readFile('/run/dstack-test/hosts.json', 'utf8').catch(() => {
    throw new Error(`bench ${section}: test hosts are not running: run \`sudo scripts/test-hosts.sh up 1\` first`);
  }));
  const host = hosts.hosts[0];
  const api = (daemon, token, method, path, body) => daemonApi(section, daemon, token, method, path, body);
  const until = (what, check, timeoutMs = 180_000) => pollUntil(section, what, check, timeoutMs);
  const harness = await loadHarness(section, [
    "export { installConnectGuard } from './test/helpers/aws/connect-guard.ts';",
    "export { lockTestHosts } from './test/helpers/test-hosts.ts';",
  ]);
  const { runDaemon } = await import(pathToFileURL(await bundleEntry(section, 'src/daemon/main.ts', 'daemon.mjs')).href);
  const { stopLocalAgent } = await import(pathToFileURL(await bundleEntry(section, 'src/backends/local/agent-process.ts', 'agent-process.mjs')).href);
  // As the e2e files: tests installing agents on these hosts (and clearing them) must not run meanwhile.
  log('waiting for the test hosts lock');
  const releaseHosts = await harness.lockTestHosts();
  // The daemon is in this process, so the tests' guard covers it: a fake's invented address throws, never reaches out.
  const guard = harness.installConnectGuard();
  guard.allow(...hosts.hosts.map((h) => h.ip));
  const home = await mkdtemp(join(tmpdir(), `bench-${section}-`));
  const token = randomBytes(24).toString('base64url');
  const remoteDir = `.dstack/agent-bench-${section}-${randomBytes(4).toString('hex')}`;
  let cloud;
  let daemon;
  const stopRun = async (runName) => {
    await api(daemon, token, 'POST', `/api/runs/${runName}/stop`, { abort: true });
    await until(`${runName} terminated`, async () => (await api(daemon, token, 'GET', `/api/runs/${runName}`)).status === 'terminated');
  };
  const deleteFleet = async (fleet) => {
    await api(daemon, token, 'DELETE', `/api/fleets/${fleet}?force=1`).catch(() => undefined);
    await until(`${fleet} deleted`, async () => (await api(daemon, token, 'GET', `/api/fleets/${fleet}`)).status === 'terminated', 120_000).catch(() => undefined);
  };
  const service = (runName, fleet) => ({
    type: 'service', name: runName, image: 'dstack-test/node:latest', commands: ['node /srv/http-echo.mjs'], env: { PORT: '8000' }, port: 8000,
    stop_duration: 0, fleets: [fleet], resources: { cpu: '1..', memory: '0.25GB..', disk: '1GB..' },
  });
  const applyRun = (cfg) => api(daemon, token, 'POST', '/api/runs/apply', { config: cfg, force: false });
  const ready = (runName) => until(`${runName} ready`, async () => isReady(await api(daemon, token, 'GET', `/api/runs/${runName}`)));
  const sshFleet = (fleet) => ({ type: 'fleet', name: fleet, ssh_config: { user: host.user, identity_file: host.identityFile, hosts: [host.ip] } });
  const joined = (fleet) => until(`${fleet} joined`, async () => {
    const instance = (await api(daemon, token, 'GET', `/api/fleets/${fleet}`)).instances[0];
    if (instance?.error) throw new Error(`bench ${section}: ${host.name} did not join ${fleet}: ${instance.error}`);
    return instance?.status === 'idle';
  });
  const vm = [];
  const ssh = [];
  const warm = [];
  try {
    cloud = await provider.start({ host, hosts, log });
    const config = { version: 1, default_project: 'main', user: 'bench', token, server: { host: '127.0.0.1', port: 3000 }, projects: [{ name: 'main', tokens: [], backends: [cloud.backend] }] };
    await writeFile(join(home, 'config.yml'), JSON.stringify(config), { mode: 0o600 });
    const env = { ...process.env, DOCKER_HOST: hosts.dockerHost, ...cloud.env };
    daemon = await runDaemon({ home, port: 0, env, exitOnCompromise: false, tickMs: 250, ssh: { agentPort: 11_163, remoteDir, agentBinary }, ...(process.env.BENCH_CLOUD_LOG ? { log: (line) => process.stderr.write(`[daemon] ${line}\n`) } : {}) });
    const cloudFleet = { type: 'fleet', name: 'bench-vm', nodes: '0..1', idle_duration: '1s', resources: { cpu: '2..', memory: '4GB..', disk: '20GB..', gpu: 0 }, ...provider.fleet };
    await api(daemon, token, 'POST', '/api/fleets/apply', { config: cloudFleet, force: false });
    for (let i = 0; i < n; i++) {
      const vmRun = `bench-vm-${i}`;
      let t0 = performance.now();
      await applyRun(service(vmRun, 'bench-vm'));
      const applied = performance.now() - t0;
      await ready(vmRun);
      vm.push(performance.now() - t0);
      log(`${vmRun}: apply answered after ${fmt.ms(applied)} ms`);
      log(`${vmRun}: ${fmt.ms(vm[i])} ms (${provider.vm} from nothing)`);
      await stopRun(vmRun);
      await until('the idle VM terminated', async () => (await api(daemon, token, 'GET', '/api/fleets/bench-vm')).instances.every((x) => x.status === 'terminated'));
      await clearHost(host, remoteDir, [vmRun]);

      const fleet = `bench-ssh-${i}`;
      const sshRun = `bench-ssh-run-${i}`;
      t0 = performance.now();
      await api(daemon, token, 'POST', '/api/fleets/apply', { config: sshFleet(fleet), force: false });
      await joined(fleet);
      await applyRun(service(sshRun, fleet));
      await ready(sshRun);
      ssh.push(performance.now() - t0);
      log(`${sshRun}: ${fmt.ms(ssh[i])} ms (SSH host from nothing)`);
      await stopRun(sshRun);
      await deleteFleet(fleet);
      await clearHost(host, remoteDir, [sshRun]);
    }
    await api(daemon, token, 'POST', '/api/fleets/apply', { config: sshFleet('bench-ssh-warm'), force: false });
    await joined('bench-ssh-warm');
    for (let i = 0; i < n; i++) {
      const runName = `bench-warm-${i}`;
      const t0 = performance.now();
      await applyRun(service(runName, 'bench-ssh-warm'));
      await ready(runName);
      warm.push(performance.now() - t0);
      log(`${runName}: ${fmt.ms(warm[i])} ms (SSH host already joined)`);
      await stopRun(runName);
    }
    guard.expectNoForeignConnections();
    const row = (label, xs) => [label, xs.length, fmt.ms(median(xs)), fmt.ms(Math.min(...xs)), fmt.ms(Math.max(...xs)), fmt.ratio(median(xs) / median(ssh))];
    const ratio = median(vm) / median(ssh);
    return {
      title: `Cloud: apply-to-ready of a service on a ${provider.vm} vs an SSH fleet host`,
      columns: ['where', 'runs', 'median ms', 'min ms', 'max ms', '× SSH from nothing'],
      rows: [
        row(`service ready on a ${provider.vm} (fleet nodes 0..1, instance created per sample: create + address + SSH bootstrap + replica)`, vm),
        row(`service ready on SSH fleet host ${host.name} from nothing (fleet apply + bootstrap + replica; reference)`, ssh),
        row(`service ready on SSH fleet host ${host.name} already joined (context)`, warm),
      ],
      notes: [
        `Goal (issue ${issue}): VM / SSH from nothing ≤ ${GOAL}×: ${fmt.ratio(ratio)}, ${ratio <= GOAL ? 'met' : 'NOT met'}. ${cloud.createdNote()}`,
        'Samples interleaved (VM, SSH, VM, …) on the same namespace host, each with an empty agent directory (the agent binary is uploaded every time); daemon tick 250 ms.',
        'Time from POST /api/runs/apply (VM) or POST /api/fleets/apply (SSH) to the replica running and ready (probes passed).',
        'Connections only to loopback and the namespace hosts (the tests\' connect guard; none refused).',
      ],
    };
  } finally {
    if (daemon) {
      await deleteFleet('bench-ssh-warm');
      await deleteFleet('bench-vm');
      await daemon.close();
    }
    await stopLocalAgent(join(home, 'server', 'local-agent')).catch(() => undefined);
    const runs = Array.from({ length: n }, (_, i) => [`bench-vm-${i}`, `bench-ssh-run-${i}`, `bench-warm-${i}`]).flat();
    await clearHost(host, remoteDir, runs).catch(() => undefined);
    await cloud?.close();
    await rm(home, { recursive: true, force: true });
    guard.uninstall();
    releaseHosts();
  }
}

/** AWS: moto behind the tests' EC2 front, whose one address is the namespace host (it does cloud-init's key job). */
const aws = {
  section: 'cloud',
  issue: 13,
  vm: 'moto VM',
  fleet: {},
  async start({ host }) {
    const h = await loadHarness('cloud-aws', [
      "export { startMoto } from './test/helpers/aws/moto.ts';",
      "export { startEc2Front } from './test/helpers/aws/ec2-front.ts';",
      "export { TEST_ACCESS_KEY, TEST_SECRET_KEY, TEST_OS_IMAGES } from './test/helpers/aws/harness.ts';",
    ], 'test/helpers/aws/moto.ts');
    const moto = await h.startMoto();
    const front = await h.startEc2Front({ motoUrl: moto.url, hosts: [host] }).catch(async (e) => {
      await moto.stop();
      throw e;
    });
    return {
      backend: { type: 'aws', creds: { type: 'access_key', access_key: h.TEST_ACCESS_KEY, secret_key: h.TEST_SECRET_KEY }, regions: ['us-east-1'], os_images: h.TEST_OS_IMAGES },
      env: { AWS_ENDPOINT_URL_EC2: front.url, AWS_ACCESS_KEY_ID: h.TEST_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: h.TEST_SECRET_KEY, AWS_EC2_METADATA_DISABLED: 'true' },
      createdNote: () => `${front.callsTo('RunInstances').filter((c) => c.status === 200).length} instances created in moto.`,
      close: async () => {
        await front.close();
        await moto.stop();
      },
    };
  },
};

export async function run(ctx = {}) {
  return cloudBench(ctx, aws);
}

/** `node scripts/bench/<file>.mjs [--runs N]`: one section alone, its table on stdout. */
export async function standalone(section) {
  const runs = process.argv.indexOf('--runs');
  const result = await section.run({ runs: runs > 0 ? Number(process.argv[runs + 1]) : undefined });
  process.stdout.write(`${markdownSection(result)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await standalone({ run });
