// Bench section `restart` (issue 15): after `kill -9` of the daemon, how long from the next CLI command (which
// brings the daemon back) until the service answers through the proxy again, measured as a user would: a client
// polling the service URL every 20 ms. The replica kept running on the local agent. The reference is the same CLI
// command (`dstack ps --json`) against a daemon that is already up, and the daemon's own cold start (the command
// returning) is shown beside it. Goal: ≤ 1 s from the command to the first proxied 200.
// Needs the test dockerd (`scripts/test-hosts.sh up 1`) and `npm run build` (dist/main.js).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, freeLocalPort, median } from './lib.mjs';

export const name = 'restart';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKER_HOST = process.env.DSTACK_TEST_DOCKER_HOST ?? 'unix:///run/dstack-test/docker.sock';
const GOAL_MS = 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function run(ctx = {}) {
  const log = ctx.log ?? ((m) => process.stderr.write(`[restart] ${m}\n`));
  const n = ctx.runs ?? (ctx.quick ? 3 : 5);
  const cli = join(ROOT, 'dist/main.js');
  if (!existsSync(cli)) throw new Error('bench restart: dist/main.js is missing: run npm run build');
  const home = await mkdtemp(join(tmpdir(), 'bench-restart-home-'));
  const dir = await mkdtemp(join(tmpdir(), 'bench-restart-cfg-'));
  const port = await freeLocalPort();
  const env = { ...process.env, DSTACK_HOME: home, DSTACK_SERVER_PORT: String(port), DOCKER_HOST, DSTACK_BASE_IMAGE: 'dstack-test/python:latest', NO_COLOR: '1' };
  delete env.CI;
  const dstack = (args) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [cli, ...args], { env, cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bench restart: dstack ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return { ms: performance.now() - t0, stdout: r.stdout };
  };
  const runName = 'bench-restart';
  const url = `http://127.0.0.1:${port}/proxy/services/main/${runName}/`;
  const answers = async () => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  };
  /** ms from `t0` until the service answers 200, polling every 20 ms (at most 60 s). */
  const firstAnswer = async (t0) => {
    while (performance.now() - t0 < 60_000) {
      if (await answers()) return performance.now() - t0;
      await sleep(20);
    }
    throw new Error('bench restart: the service did not answer within 60 s');
  };
  const daemonPid = async () => JSON.parse(await readFile(join(home, 'server/daemon.json'), 'utf8')).pid;
  const yaml = `type: service\nname: ${runName}\nimage: dstack-test/node:latest\nenv:\n  - PORT=8000\ncommands:\n  - node /srv/http-echo.mjs\nport: 8000\nauth: false\n`;
  await writeFile(join(dir, 'service.dstack.yml'), yaml);
  const restarted = [];
  const command = [];
  const warm = [];
  try {
    dstack(['apply', '-f', join(dir, 'service.dstack.yml'), '-y', '-d']);
    await firstAnswer(performance.now());
    for (let i = 0; i < n; i++) {
      warm.push(dstack(['ps', '--json']).ms);
      const pid = await daemonPid();
      process.kill(pid, 'SIGKILL');
      while (existsSync(`/proc/${pid}`)) await sleep(10);
      const t0 = performance.now();
      // The command and the client start together, as a user's script and its traffic would.
      const client = firstAnswer(t0);
      const cmd = spawnSync(process.execPath, [cli, 'ps', '--json'], { env, cwd: dir, encoding: 'utf8' });
      if (cmd.status !== 0) throw new Error(`bench restart: dstack ps after kill -9 exited ${cmd.status}: ${cmd.stderr}`);
      command.push(performance.now() - t0);
      restarted.push(await client);
      log(`sample ${i}: command ${fmt.ms(command[i])} ms, first 200 after ${fmt.ms(restarted[i])} ms`);
    }
    const row = (label, xs) => [label, xs.length, fmt.ms(median(xs)), fmt.ms(Math.min(...xs)), fmt.ms(Math.max(...xs))];
    const ratio = median(restarted) / GOAL_MS;
    return {
      title: 'Restart to serving: kill -9 of the daemon, then the next CLI command',
      columns: ['what', 'runs', 'median ms', 'min ms', 'max ms'],
      rows: [
        row('first proxied 200 after `dstack ps --json` restarts the daemon (client polling every 20 ms)', restarted),
        row('`dstack ps --json` that restarts the daemon (command returns)', command),
        row('`dstack ps --json` against a running daemon (reference)', warm),
      ],
      notes: [`Goal (issue 15): first 200 ≤ ${GOAL_MS} ms after the command starts: ${fmt.ms(median(restarted))} ms (${fmt.ratio(ratio)} of the goal), ${ratio <= 1 ? 'met' : 'NOT met'}. The replica (local Docker) keeps running throughout.`],
    };
  } finally {
    spawnSync(process.execPath, [cli, 'stop', runName, '-y', '-x'], { env, cwd: dir });
    try {
      process.kill(await daemonPid(), 'SIGTERM');
    } catch {
      // already gone
    }
    const agent = await readFile(join(home, 'server/local-agent/agent-process.json'), 'utf8').then((t) => JSON.parse(t).pid, () => undefined);
    if (agent) {
      try {
        process.kill(agent, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await rm(dir, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  }
}
