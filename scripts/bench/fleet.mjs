// Bench section `fleet`: apply-to-ready time of a service on an SSH fleet host with the image already present
// (issue 5 goal: median ≤ 3 s). The daemon (src/daemon/main.ts, bundled as the product is) runs in-process
// with its own DSTACK_HOME and its own agent directory/port on dstack-h1; the fleet is provisioned once (not timed),
// then each sample is POST /api/runs/apply → the run's replica running and ready (probes passed), stopped between
// samples. Reference in the same run: the same service on the local backend (no fleet, same daemon code).
// Needs root and `scripts/test-hosts.sh up 1`. Standalone: `node scripts/bench/fleet.mjs [--runs N]`.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleEntry, fmt, markdownSection, median, daemonApi, pollUntil } from './lib.mjs';

export const name = 'fleet';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const bundle = (entry, out) => bundleEntry('fleet', entry, out);

const api = (daemon, token, method, path, body) => daemonApi('fleet', daemon, token, method, path, body);
const until = (what, check, timeoutMs = 120_000) => pollUntil('fleet', what, check, timeoutMs);

/** Apply-to-ready samples (ms) of `service` on a daemon, each run stopped before the next. */
async function samples(daemon, token, service, n, log) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const runName = `${service.name}-${i}`;
    const t0 = performance.now();
    await api(daemon, token, 'POST', '/api/runs/apply', { config: { ...service, name: runName }, force: false });
    await until(`${runName} ready`, async () => {
      const v = await api(daemon, token, 'GET', `/api/runs/${runName}`);
      return v.replicas.some((r) => r.status === 'running' && r.ready);
    });
    out.push(performance.now() - t0);
    log(`${runName}: ${fmt.ms(out[i])} ms`);
    await api(daemon, token, 'POST', `/api/runs/${runName}/stop`, { abort: true });
    await until(`${runName} terminated`, async () => (await api(daemon, token, 'GET', `/api/runs/${runName}`)).status === 'terminated');
  }
  return out;
}

export async function run(ctx = {}) {
  const log = ctx.log ?? ((m) => process.stderr.write(`[fleet] ${m}\n`));
  const n = ctx.runs ?? (ctx.quick ? 3 : 5);
  const hosts = JSON.parse(await readFile('/run/dstack-test/hosts.json', 'utf8').catch(() => {
    throw new Error('bench fleet: test hosts are not running: run `sudo scripts/test-hosts.sh up 1` first');
  }));
  const host = hosts.hosts[0];
  const home = await mkdtemp(join(tmpdir(), 'bench-fleet-'));
  const agent = await bundle('src/agent/main.ts', 'agent.mjs');
  const { runDaemon } = await import(pathToFileURL(await bundle('src/daemon/main.ts', 'daemon.mjs')).href);
  const { stopLocalAgent } = await import(pathToFileURL(await bundle('src/backends/local/agent-process.ts', 'agent-process.mjs')).href);
  const env = { ...process.env, DOCKER_HOST: hosts.dockerHost, DSTACK_AGENT_BIN: agent };
  const service = {
    type: 'service', name: 'bench-svc', image: 'dstack-test/node:latest', commands: ['node /srv/http-echo.mjs'],
    env: { PORT: '8000' }, port: 8000, stop_duration: 0, resources: { cpu: '1..', memory: '0.25GB..', disk: '1GB..' },
  };
  const remoteDir = `.dstack/agent-bench-${randomBytes(4).toString('hex')}`;
  const daemon = await runDaemon({ home, port: 0, env, exitOnCompromise: false, tickMs: 250, ssh: { agentPort: 11_161, remoteDir, agentBinary: join(ROOT, 'dist/bin/dstack-agent') } });
  const token = /^token:\s*(\S+)/m.exec(await readFile(join(home, 'config.yml'), 'utf8'))?.[1] ?? '';
  try {
    log(`local reference: ${n} runs`);
    const local = await samples(daemon, token, { ...service, name: 'bench-local', backends: ['local'] }, n, log);
    const fleet = { type: 'fleet', name: 'bench-fleet', ssh_config: { user: host.user, identity_file: host.identityFile, hosts: [host.ip] } };
    await api(daemon, token, 'POST', '/api/fleets/apply', { config: fleet, force: false });
    await until('fleet host idle', async () => {
      const instance = (await api(daemon, token, 'GET', '/api/fleets/bench-fleet')).instances[0];
      if (instance?.error) throw new Error(`bench fleet: ${host.name} did not join: ${instance.error}`);
      return instance?.status === 'idle';
    });
    log(`fleet on ${host.name}: ${n} runs`);
    const ssh = await samples(daemon, token, { ...service, name: 'bench-ssh' }, n, log);
    const row = (label, xs) => [label, n, fmt.ms(median(xs)), fmt.ms(Math.min(...xs)), fmt.ms(Math.max(...xs))];
    return {
      title: 'Fleet: apply-to-ready of a service (image present)',
      columns: ['where', 'runs', 'median ms', 'min ms', 'max ms'],
      rows: [row(`SSH fleet host (${host.name})`, ssh), row('local backend (reference)', local)],
      notes: [
        'Time from POST /api/runs/apply to the replica running and ready (probes passed), daemon tick 250 ms.',
        `Goal (issue 5): SSH median ≤ 3000 ms; SSH/local ratio ${fmt.ratio(median(ssh) / median(local))}.`,
      ],
    };
  } finally {
    await api(daemon, token, 'DELETE', '/api/fleets/bench-fleet?force=1').catch(() => undefined);
    await until('fleet deleted', async () => (await api(daemon, token, 'GET', '/api/fleets/bench-fleet')).status === 'terminated', 60_000).catch(() => undefined);
    await daemon.close();
    await stopLocalAgent(join(home, 'server', 'local-agent')).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const runs = process.argv.indexOf('--runs');
  const result = await run({ runs: runs > 0 ? Number(process.argv[runs + 1]) : undefined });
  process.stdout.write(`${markdownSection(result)}\n`);
}
