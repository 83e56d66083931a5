// The host agent: idle RSS (goal < 45 MiB under node, < 60 MiB as the SEA) and the time from `POST /api/replicas`
// to `running`, beside `docker run -d` of the same image with the same flags, measured in the same run (goal: within 1.3×).
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, median, percentile, rss } from './lib.mjs';

export const name = 'agent';

const IMAGE = 'dstack-test/busybox:latest';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const freePort = () =>
  new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

async function startAgent(cmd, args, { home, token, dockerHost, agentId }) {
  const port = await freePort();
  const tokenFile = join(home, 'token');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const child = spawn(cmd, [...args, 'start', '--home', home, '--token-file', tokenFile, '--port', String(port), '--docker-host', dockerHost, '--agent-id', agentId], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`${url}/api/health`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.ok, () => false);
    if (ok) return { child, url };
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`bench: ${cmd} did not answer its health check`);
}

/** Resolves with the time (ms, performance.now) each replica id is first reported running, from /api/events. */
function watchRunning(url, token) {
  const seen = new Map();
  const waiters = new Map();
  const controller = new AbortController();
  void (async () => {
    const res = await fetch(`${url}/api/events`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!frame.startsWith('data: ')) continue;
        const ev = JSON.parse(frame.slice(6));
        if (ev.type !== 'replica' || seen.has(ev.replica.id)) continue;
        if (ev.replica.phase === 'running' || ev.replica.phase === 'failed') {
          seen.set(ev.replica.id, { at: performance.now(), phase: ev.replica.phase, message: ev.replica.message });
          waiters.get(ev.replica.id)?.();
        }
      }
    }
  })().catch(() => undefined);
  return {
    wait: (id) => (seen.has(id) ? Promise.resolve(seen.get(id)) : new Promise((r) => waiters.set(id, () => r(seen.get(id))))),
    close: () => controller.abort(),
  };
}

export async function run(ctx = {}) {
  const root = ctx.root ?? process.cwd();
  const n = ctx.runs ?? (ctx.quick ? 5 : 15);
  const log = ctx.log ?? ((m) => process.stderr.write(`[agent] ${m}\n`));
  const dockerHost = process.env.DSTACK_TEST_DOCKER_HOST ?? 'unix:///run/dstack-test/docker.sock';
  const agentJs = join(root, 'dist/agent.js');
  const agentBin = join(root, 'dist/bin/dstack-agent');
  if (!existsSync(agentJs)) throw new Error('dist/agent.js is missing: run npm run build');
  const docker = (...args) => spawnSync('docker', ['-H', dockerHost, ...args], { encoding: 'utf8' });
  if (docker('image', 'inspect', IMAGE).status !== 0) {
    throw new Error(`bench: ${IMAGE} is not on ${dockerHost}: run \`sudo scripts/test-hosts.sh up 1\` (or set DSTACK_TEST_DOCKER_HOST)`);
  }
  const token = randomUUID();
  const agentId = `bench-${randomUUID().slice(0, 8)}`;
  const rows = [];
  const cleanups = [];
  try {
    // Idle RSS of each build of the agent, after its first adoption pass and the Docker event stream are up.
    const idle = [];
    for (const [label, cmd, args] of [['node dist/agent.js', process.execPath, [agentJs]], ['dist/bin/dstack-agent (SEA)', agentBin, []]]) {
      if (cmd === agentBin && !existsSync(agentBin)) continue;
      const home = mkdtempSync(join(tmpdir(), 'bench-agent-'));
      const agent = await startAgent(cmd, args, { home, token, dockerHost, agentId: `${agentId}-idle` });
      await sleep(2000);
      idle.push([label, rss(agent.child.pid), rss(agent.child.pid, 'RssAnon')]);
      agent.child.kill('SIGTERM');
      rmSync(home, { recursive: true, force: true });
    }
    // Goals from issue 15: the SEA carries its own copy of node, whose pages count in its RSS.
    for (const [label, mib, anon] of idle) {
      const goal = label.includes('SEA') ? 60 : 45;
      rows.push([`idle RSS, ${label}`, `${fmt.mib(mib)} MiB (anon ${fmt.mib(anon)})`, `< ${goal} MiB`, mib < goal ? 'ok' : 'over']);
    }
    rows.push(['dist/agent.js size', `${fmt.mib(statSync(agentJs).size / 2 ** 20)} MiB`, '', '']);

    const home = mkdtempSync(join(tmpdir(), 'bench-agent-'));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const agent = await startAgent(process.execPath, [agentJs], { home, token, dockerHost, agentId });
    cleanups.push(() => agent.child.kill('SIGTERM'));
    const events = watchRunning(agent.url, token);
    cleanups.push(() => events.close());
    const agentMs = [];
    const dockerMs = [];
    log(`${n} starts through the agent and ${n} \`docker run -d\`, interleaved`);
    for (let i = 0; i < n + 1; i++) {
      const id = `${agentId}-${i}`;
      const t0 = performance.now();
      const res = await fetch(`${agent.url}/api/replicas`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id, runName: 'bench', replicaNum: i, image: IMAGE, port: 8080, commands: ['sleep 600'], stopTimeoutSeconds: 0 }),
      });
      if (res.status !== 201) throw new Error(`bench: POST /api/replicas answered ${res.status}: ${await res.text()}`);
      const done = await events.wait(id);
      if (done.phase !== 'running') throw new Error(`bench: replica failed: ${done.message}`);
      const t1 = performance.now();
      const d = docker('run', '-d', '--init', '--label', `ai.dstack.agent=${agentId}`, '-p', '127.0.0.1::8080', IMAGE, '/bin/sh', '-c', 'sleep 600');
      const t2 = performance.now();
      if (d.status !== 0) throw new Error(`bench: docker run failed: ${d.stderr}`);
      if (i === 0) continue; // warm-up pair
      agentMs.push(t1 - t0);
      dockerMs.push(t2 - t1);
    }
    const ratio = median(agentMs) / median(dockerMs);
    rows.push([`POST → running, agent (median, p90 of ${n})`, `${fmt.ms(median(agentMs))} ms, ${fmt.ms(percentile(agentMs, 0.9))} ms`, '', '']);
    rows.push([`\`docker run -d\` same image and flags (median, p90 of ${n})`, `${fmt.ms(median(dockerMs))} ms, ${fmt.ms(percentile(dockerMs, 0.9))} ms`, '', '']);
    rows.push(['agent / docker run', fmt.ratio(ratio), '≤ 1.30×', ratio <= 1.3 ? 'ok' : 'over']);
  } finally {
    for (const c of cleanups.reverse()) c();
    const ids = docker('ps', '-aq', '--filter', `label=ai.dstack.agent=${agentId}`).stdout.split('\n').filter(Boolean);
    if (ids.length) docker('rm', '-f', ...ids);
  }
  return {
    title: 'Host agent: idle memory and replica start time',
    columns: ['measure', 'value', 'goal', ''],
    rows,
    notes: [
      `Docker engine ${dockerHost}, image ${IMAGE}; both paths publish port 8080 on 127.0.0.1 and use docker-init.`,
      'Idle RSS is read 2 s after the first health answer, before V8 has collected startup garbage (a few MiB).',
      'Agent time = POST until the `running` event on /api/events (includes the image check and `:latest` re-pull attempt); docker time = the CLI process wall time.',
    ],
  };
}
