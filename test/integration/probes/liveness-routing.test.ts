/**
 * Liveness through the real parts (issue 14): the reconciler over the JSON store, the prober probing real HTTP
 * replicas, the route table and the proxy in front, with only the agent faked (an in-memory one of our interface).
 * A replica's server flips to 500 on demand. Ordering, not timing, is asserted: the flipped server counts the failed
 * probes it answered, and no client request may reach it after it answered `failure_threshold` of them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyState, type ProbeSettings, type ReplicaRecord } from '../../../src/core/state/schema.js';
import { createJsonStateStore } from '../../../src/daemon/state/json-store.js';
import { Prober } from '../../../src/daemon/probes/prober.js';
import { Reconciler } from '../../../src/daemon/reconcile/reconciler.js';
import { MemoryRouteTable } from '../../../src/proxy/routing/route-table.js';
import { FakeBackend, type FakeLink } from '../../unit/reconcile/fake-agent.js';
import { replica, run, settings } from '../../unit/reconcile/fixtures.js';
import { auth, harness, startProxy, startUpstream, type Upstream } from '../proxy/helpers.js';

const defer = harness();
const client = new Agent({ connections: 4 });
afterAll(() => client.close());

const THRESHOLD = 3;
const probe: ProbeSettings = { url: '/health', method: 'get', headers: [], timeoutSeconds: 2, intervalSeconds: 0.1, readyAfter: 1, untilReady: false, failureThreshold: THRESHOLD };

/** A replica's server: healthy until `flip()`, then 500 for everything; it counts what it answered meanwhile. */
interface FlakyServer extends Upstream {
  name: string;
  flip(healthy: boolean): void;
  /** Failed probes answered so far, and for each client request served while flipped, that count at the time. */
  failedProbes: number;
  servedWhileFlipped: number[];
}

async function flaky(name: string): Promise<FlakyServer> {
  let healthy = true;
  const self = {} as FlakyServer;
  const up = await startUpstream((req, res) => {
    const isProbe = req.url === '/health';
    if (healthy) return void res.writeHead(200, { 'x-replica': name }).end(name);
    if (isProbe) self.failedProbes++;
    else self.servedWhileFlipped.push(self.failedProbes);
    res.writeHead(500, { 'x-replica': name }).end('broken');
  }, defer);
  return Object.assign(self, up, { name, failedProbes: 0, servedWhileFlipped: [], flip: (h: boolean) => void (healthy = h) });
}

/** The control plane's parts as the daemon wires them, over fake agents whose replica ports lead to `servers`. */
async function daemon(o: { replicas: ReplicaRecord[]; desired: number; graceMs: number; servers: Map<number, string> }) {
  const dir = await mkdtemp(join(tmpdir(), 'liveness-'));
  defer(() => rm(dir, { recursive: true, force: true }));
  const r = run({ status: 'running', desiredReplicas: o.desired, settings: settings({ probes: [probe], tcpCheck: false, stopDurationSeconds: 0 }), replicas: o.replicas });
  const store = createJsonStateStore(join(dir, 'state.json'), { ...emptyState(), runs: [r] });
  defer(() => store.flush());
  const backend = new (class extends FakeBackend {
    override async ensureAgent(instance: string): Promise<FakeLink> {
      const link = await super.ensureAgent(instance);
      // Replicas the fake agent creates get ports 41000 and up: those lead to the replacement servers.
      return { ...link, replicaOrigin: (port) => ({ origin: o.servers.get(port) ?? `http://127.0.0.1:${port}` }) };
    }
  })(['local']);
  for (const x of o.replicas) backend.agent('local').holds({ id: x.id, replicaNum: x.num, hostPort: x.hostPort });
  const routes = new MemoryRouteTable();
  const log: string[] = [];
  const reconciler = new Reconciler<FakeLink>({
    store, backend, routes, events: { notify: () => undefined }, log: (l) => log.push(l), clock: Date.now,
    tickMs: 200, backoffBaseMs: 100, crashLoopLimit: 3, readTimeoutMs: 10_000, unhealthyGraceMs: o.graceMs,
  });
  const prober = new Prober({ runs: () => store.runs(), connection: (i) => reconciler.connection(i), update: (id, fn) => void reconciler.updateReplica(id, fn), clock: Date.now, log: (l) => log.push(l) });
  reconciler.onTick(() => prober.tick());
  defer(() => prober.close());
  defer(await reconciler.start());
  const proxy = await startProxy(defer, { routes });
  const routed = () => (routes.get('main', 'svc')?.replicas ?? []).map((x) => x.id).sort();
  return { store, backend, proxy, routed, log, replica: (id: string) => store.runs()[0]?.replicas.find((x) => x.id === id) };
}

/** Sends requests one after another through the proxy until stopped; each answer as `status replica`. */
function clientLoop(base: string) {
  const seen: string[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const res = await request(`${base}/proxy/services/main/svc/work`, { dispatcher: client, headers: auth });
      await res.body.dump();
      seen.push(`${res.statusCode} ${String(res.headers['x-replica'] ?? '-')}`);
    }
  })();
  return { seen, stop: async () => ((stopped = true), await done) };
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const port = (u: Upstream) => u.port;

describe('liveness with the prober, the route table and the proxy', () => {
  it('a replica that turns unhealthy leaves routing within failure_threshold probes and is replaced after the grace', async () => {
    const [a, b, c] = [await flaky('a'), await flaky('b'), await flaky('c')];
    const d = await daemon({
      desired: 2,
      graceMs: 500,
      servers: new Map([[41_000, c.origin]]),
      replicas: [
        replica({ num: 0, hostPort: port(a), probes: [{ successStreak: 1 }], readyAt: 1 }),
        replica({ num: 1, id: 'svc-1-0', hostPort: port(b), probes: [{ successStreak: 1 }], readyAt: 1 }),
      ],
    });
    await until('both replicas routed', () => d.routed().length === 2);
    const loop = clientLoop(d.proxy.base);
    await until('traffic on both', () => loop.seen.includes('200 a') && loop.seen.includes('200 b'));
    a.flip(false);
    await until('a out of routing', () => d.routed().join() === 'svc-1-0');
    expect(d.replica('svc-0-0')?.unhealthy?.reason).toBe('GET /health failed 3 times in a row (HTTP 500)');
    const afterRemoval = loop.seen.length;
    await until('a replaced by c', () => d.routed().join() === 'svc-0-1,svc-1-0' && loop.seen.includes('200 c'));
    await loop.stop();

    expect(d.replica('svc-0-0')).toMatchObject({ status: 'terminated', reason: 'unhealthy' });
    // Both in the same pass (the stop drains first, so the create may reach the agent before it).
    expect(d.backend.agent('local').calls.sort()).toEqual(['create svc-0-1', 'stop svc-0-0 0']);
    // a got client requests only until its third failed probe was answered; none after that.
    expect(a.servedWhileFlipped.every((failed) => failed <= THRESHOLD)).toBe(true);
    expect(a.failedProbes).toBeGreaterThanOrEqual(THRESHOLD);
    // Every 5xx the client saw is one of those: none from the proxy, none once a left routing.
    const errors = loop.seen.filter((s) => !s.startsWith('200'));
    expect(errors).toEqual(a.servedWhileFlipped.map(() => '500 a'));
    // (The loop is sequential: one request may have been on its way to a when the route changed.)
    expect(loop.seen.slice(afterRemoval + 1).filter((s) => !s.startsWith('200'))).toEqual([]);
    expect(d.log.some((l) => l.startsWith('replica svc-0-0: unhealthy, GET /health failed 3 times'))).toBe(true);
  });

  it('a replica whose probes recover within the grace goes back into routing and is not replaced', async () => {
    const [a, b] = [await flaky('a'), await flaky('b')];
    const d = await daemon({
      desired: 2,
      graceMs: 60_000,
      servers: new Map(),
      replicas: [
        replica({ num: 0, hostPort: port(a), probes: [{ successStreak: 1 }], readyAt: 1 }),
        replica({ num: 1, id: 'svc-1-0', hostPort: port(b), probes: [{ successStreak: 1 }], readyAt: 1 }),
      ],
    });
    await until('both replicas routed', () => d.routed().length === 2);
    a.flip(false);
    await until('a out of routing', () => d.routed().join() === 'svc-1-0');
    a.flip(true);
    await until('a back in routing', () => d.routed().join() === 'svc-0-0,svc-1-0');
    expect(d.replica('svc-0-0')).toMatchObject({ status: 'running', ready: true });
    expect(d.replica('svc-0-0')?.unhealthy).toBeUndefined();
    expect(d.backend.agent('local').calls).toEqual([]);
    expect(d.log).toContain('replica svc-0-0: probes pass again, back in routing');
  });

  it("the service's last replica stays routed while unhealthy and is stopped only once its replacement is ready", async () => {
    const [a, c] = [await flaky('a'), await flaky('c')];
    c.flip(false); // the replacement starts not ready: its probes fail until the test lets it pass
    const d = await daemon({
      desired: 1,
      graceMs: 300,
      servers: new Map([[41_000, c.origin]]),
      replicas: [replica({ num: 0, hostPort: port(a), probes: [{ successStreak: 1 }], readyAt: 1 })],
    });
    await until('a routed', () => d.routed().join() === 'svc-0-0');
    const loop = clientLoop(d.proxy.base);
    a.flip(false);
    await until('a unhealthy', () => d.replica('svc-0-0')?.unhealthy !== undefined);
    await until('the replacement started', () => d.backend.agent('local').calls.includes('create svc-1-0'));
    await until('the replacement probed', () => c.failedProbes > 0);
    expect(d.routed()).toEqual(['svc-0-0']);
    expect(d.replica('svc-0-0')).toMatchObject({ status: 'running', unhealthy: { replacing: true } });
    c.flip(true);
    await until('c took over', () => d.routed().join() === 'svc-1-0' && d.replica('svc-0-0')?.status === 'terminated');
    await until('c answers', () => loop.seen.includes('200 c'));
    await loop.stop();
    expect(d.backend.agent('local').calls).toEqual(['create svc-1-0', 'stop svc-0-0 0']);
    // Never "no ready replicas": the unhealthy one answered (500) until the replacement was ready.
    expect(loop.seen.filter((s) => s.startsWith('503'))).toEqual([]);
  });
});
