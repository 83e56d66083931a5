/**
 * Liveness after ready with the built CLI (issue 14 "done when"): a 2-replica service whose replica is made
 * unhealthy (its server, test/fixtures/liveness/flaky-server.mjs shipped in the service's folder, flips to 500)
 * leaves routing within `failure_threshold` probe periods and is replaced, and a client loop sees no 5xx beyond
 * that window; `ps -v`, the run's events and the daemon log say why. A 1-replica service keeps its only replica
 * routed while a replacement starts, and never answers 503. The window is checked by order, not time: the broken
 * server stamps each answer with the failed probes it had answered by then (`x-failed-probes`), and no client
 * request may reach it after the third; no request sent after `ps` showed it out of routing may reach it at all.
 * The grace before replacing is 8 s here (DSTACK_UNHEALTHY_GRACE_SECONDS): the window in which `ps -v` can show the
 * replica as unhealthy, since it shows a replica that is already stopping by its status only. Needs `npm run
 * build` and the test dockerd (`scripts/test-hosts.sh up 1`).
 */
import { copyFile, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../src/core/api.js';
import type { ReplicaRecord, RunRecord } from '../../src/core/state/schema.js';
import { containersOf, eventually, newCli, requireDocker, uniqueName, type Cli } from './cli-harness.js';

const PAIR = uniqueName('e2e-live');
const SOLE = uniqueName('e2e-sole');
const THRESHOLD = 3;
let cli: Cli;
const http = new Agent({ connections: 8 });
/** Client loops and event feeds still open: each test's are ended after it, whether it passed or not. */
const open = new Set<() => Promise<void>>();

const service = (name: string, replicas: number) => `type: service
name: ${name}
image: dstack-test/node:latest
env:
  - PORT=8000
commands:
  - node flaky-server.mjs
port: 8000
replicas: ${replicas}
auth: false
stop_duration: 1s
probes:
  - type: http
    url: /health
    interval: 1s
    timeout: 2s
    failure_threshold: ${THRESHOLD}
`;

/** One response as the client saw it; `failedProbes`: the broken server's count when it answered. */
interface Seen {
  status: number | 'error';
  replica: string;
  failedProbes?: number;
  error?: string;
}

beforeAll(async () => {
  await requireDocker();
  cli = await newCli();
  cli.env.DSTACK_UNHEALTHY_GRACE_SECONDS = '8';
  await copyFile(resolve(import.meta.dirname, '../fixtures/liveness/flaky-server.mjs'), join(cli.dir, 'flaky-server.mjs'));
});

// A failed test leaves its loop running: left alone it would outlive the daemon and, once `http` is closed, spin
// (see clientLoop). So every loop ends here, before afterAll closes anything.
afterEach(async () => {
  for (const stop of [...open]) await stop();
});

afterAll(async () => {
  await cli?.cleanup([PAIR, SOLE]);
  await http.close();
});

const runOf = async (name: string): Promise<RunView | undefined> => (await cli.ps()).find((r) => r.name === name);
const readyReplicas = (v: RunView | undefined) => (v?.replicas ?? []).filter((r) => r.status === 'running' && r.ready);
const stored = async (name: string): Promise<ReplicaRecord[]> =>
  (JSON.parse(await readFile(join(cli.home, 'server/state.json'), 'utf8')) as { runs: RunRecord[] }).runs.find((r) => r.name === name)?.replicas ?? [];

/** Each running container of the run by its replica number, with the port its server is published on. */
async function servers(run: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const c of await containersOf(run)) {
    const port = c.Ports.find((p) => p.PrivatePort === 8000 && p.PublicPort)?.PublicPort;
    if (port) out.set(c.Names[0]!.replace(/^\//, ''), `http://127.0.0.1:${port}`);
  }
  return out;
}

/** Breaks the server at `url`; its name (what `x-replica` says). */
async function breakServer(url: string): Promise<string> {
  const res = await request(`${url}/flip?healthy=0`, { method: 'POST', dispatcher: http });
  return ((await res.body.json()) as { name: string }).name;
}

/** Requests one after another through the proxy until stopped. */
function clientLoop(name: string) {
  const seen: Seen[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      try {
        const res = await request(`http://127.0.0.1:${cli.port}/proxy/services/main/${name}/work`, { dispatcher: http });
        await res.body.dump();
        const failed = res.headers['x-failed-probes'];
        seen.push({ status: res.statusCode, replica: String(res.headers['x-replica'] ?? '-'), ...(failed !== undefined ? { failedProbes: Number(failed) } : {}) });
      } catch (e) {
        seen.push({ status: 'error', replica: '-', error: String(e) });
        // A request that fails without I/O (a closed dispatcher) settles as a microtask: without a pause this loop
        // never yields to timers or IPC, starves the vitest worker and grows `seen` by GBs (the hang of issue 14).
        await sleep(100);
      }
    }
  })();
  const stop = async () => {
    stopped = true;
    open.delete(stop);
    await done;
  };
  open.add(stop);
  return { seen, stop };
}

/** The run's events (`GET /api/runs/NAME/events`), as raw SSE text, until stopped. */
function events(name: string) {
  let text = '';
  const ac = new AbortController();
  const done = (async () => {
    const res = await request(`http://127.0.0.1:${cli.port}/api/runs/${name}/events`, {
      dispatcher: http, signal: ac.signal, headers: { authorization: `Bearer ${await cli.token()}` }, bodyTimeout: 0,
    });
    for await (const chunk of res.body) text += String(chunk);
  })().catch(() => undefined);
  const stop = async () => {
    ac.abort();
    open.delete(stop);
    await done;
  };
  open.add(stop);
  return { text: () => text, stop };
}

const distinctOk = (seen: readonly Seen[]) => new Set(seen.filter((s) => s.status === 200).map((s) => s.replica)).size;

describe('liveness after ready', () => {
  it('an unhealthy replica of two leaves routing within failure_threshold probes and is replaced; no 5xx beyond that', async () => {
    const file = await cli.write('pair.dstack.yml', service(PAIR, 2));
    const applied = await cli.run(['apply', '-f', file, '-y']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    const feed = events(PAIR);
    const before = await servers(PAIR);
    expect(before.size).toBe(2);
    const [victimContainer, victimUrl] = [...before.entries()][0]!;
    const loop = clientLoop(PAIR);
    await eventually('traffic on both replicas', async () => (distinctOk(loop.seen) === 2 ? true : undefined));

    const victim = await breakServer(victimUrl);
    const reason = `GET /health failed ${THRESHOLD} times in a row (HTTP 500)`;
    await eventually('the replica unhealthy in ps -v', async () => {
      const verbose = await cli.run(['ps', '-v']);
      return verbose.stdout.includes(`unhealthy: ${reason}; out of routing`) ? true : undefined;
    });
    // The route table drops a replica in the same pass that marks it unhealthy, before `ps` can see it: from here
    // on (the request in flight aside) nothing may reach it.
    const mark = loop.seen.length;
    const sick = (await runOf(PAIR))?.replicas.find((r) => r.unhealthy);
    expect(sick?.unhealthy).toMatchObject({ reason, routed: false });

    await eventually('the replacement ready and the unhealthy one gone', async () => {
      const ready = readyReplicas(await runOf(PAIR));
      const names = await servers(PAIR);
      return ready.length === 2 && !names.has(victimContainer) ? true : undefined;
    });
    await eventually('traffic on the replacement', async () => (distinctOk(loop.seen.slice(mark + 1)) === 2 ? true : undefined));
    await loop.stop();
    await feed.stop();

    // Every 5xx the client saw came from the broken replica, answered before its failed probes passed the threshold.
    const errors = loop.seen.filter((s) => s.status !== 200);
    expect(errors.filter((s) => s.status !== 500 || s.replica !== victim || s.failedProbes === undefined)).toEqual([]);
    expect(errors.filter((s) => s.failedProbes! > THRESHOLD)).toEqual([]);
    expect(loop.seen.slice(mark + 1).filter((s) => s.status !== 200 || s.replica === victim)).toEqual([]);
    const record = await eventually('the unhealthy replica terminated in state', async () => {
      const r = (await stored(PAIR)).find((x) => x.id === victimContainer);
      return r?.status === 'terminated' ? r : undefined;
    });
    expect(record).toMatchObject({ reason: 'unhealthy', unhealthy: { reason } });
    expect(feed.text()).toContain(`"reason":"${reason}"`);
    const log = await readFile(join(cli.home, 'server/logs/daemon.log'), 'utf8');
    expect(log).toContain(`replica ${victimContainer}: unhealthy, ${reason}`);
  }, 150_000);

  it("a service's only replica stays routed while unhealthy, and is stopped only once its replacement is ready", async () => {
    const file = await cli.write('sole.dstack.yml', service(SOLE, 1));
    const applied = await cli.run(['apply', '-f', file, '-y']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    const [[first, url]] = [...(await servers(SOLE)).entries()] as [[string, string]];
    const loop = clientLoop(SOLE);
    const sole = await breakServer(url);
    const sick = await eventually('the replica unhealthy but still routed', async () => (await runOf(SOLE))?.replicas.find((r) => r.unhealthy?.routed));
    expect(sick.status).toBe('running');
    await eventually('a replacement ready and the first replica stopped', async () => {
      const records = await stored(SOLE);
      return records.find((r) => r.id === first)?.status === 'terminated' ? records : undefined;
    });
    await eventually('the replacement answering', async () => (loop.seen.at(-1)?.status === 200 ? true : undefined));
    await loop.stop();
    const records = await stored(SOLE);
    const old = records.find((r) => r.id === first)!;
    const replacement = records.find((r) => r.id !== first && r.readyAt !== undefined)!;
    expect(old.stop?.reason).toBe('unhealthy');
    expect(replacement.readyAt!).toBeLessThanOrEqual(old.stop!.at);
    // Never "no ready replicas": the unhealthy replica answered (500) until its replacement took over.
    expect(loop.seen.some((s) => s.status === 500 && s.replica === sole)).toBe(true);
    expect(loop.seen.filter((s) => s.status !== 200 && !(s.status === 500 && s.replica === sole))).toEqual([]);
  }, 150_000);
});
