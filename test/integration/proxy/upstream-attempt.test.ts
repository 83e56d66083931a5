/**
 * The one upstream-attempt path (src/proxy/upstream/attempt.ts) against real node:http upstreams on 127.0.0.1:0,
 * driven through a small recording adapter of our own (the same seam Exchange, UpgradeTunnel and the forwarder
 * extend): retry before the first byte only, the outstanding counter released exactly once, the bounded
 * cold-start hold, and one mapping of failures.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Dispatcher } from 'undici';
import type { ReplicaTarget, ServiceRoute } from '../../../src/proxy/contracts.js';
import { MemoryRouteTable } from '../../../src/proxy/routing/route-table.js';
import { UpstreamAttempt, type UpstreamEnv } from '../../../src/proxy/upstream/attempt.js';
import type { UpstreamRejection } from '../../../src/proxy/upstream/failures.js';
import { ColdStartHold, holdOptions, type HoldOptions } from '../../../src/proxy/upstream/hold.js';
import { deadOrigin, deferred, echoHandler, harness, route, startUpstream } from './helpers.js';

const defer = harness();

type Outcome =
  | { kind: 'complete'; status: number; text: string; replica: string | undefined }
  | { kind: 'fail'; rejection: UpstreamRejection }
  | { kind: 'cut'; code: string | undefined };

/** An adapter that records what the attempt did; `leave()` is the client going away. */
class RecordingAttempt extends UpstreamAttempt {
  readonly outcome = deferred<Outcome>();
  readonly headersSeen = deferred();
  private status: number | undefined;
  private text = '';
  fails = 0;

  constructor(env: UpstreamEnv, r: ServiceRoute, private readonly path = '/', private readonly body: string | null = null) {
    super(env, r);
  }

  leave(): void {
    this.abandon();
  }

  protected override dispatchOptions(replica: ReplicaTarget, r: ServiceRoute): Dispatcher.DispatchOptions {
    return { origin: replica.origin, path: this.path, method: this.body === null ? 'GET' : 'POST', body: this.body, headersTimeout: r.readTimeoutMs, bodyTimeout: r.readTimeoutMs };
  }

  protected override get responding(): boolean {
    return this.status !== undefined;
  }

  protected override fail(rejection: UpstreamRejection): void {
    this.fails++;
    this.outcome.resolve({ kind: 'fail', rejection });
  }

  protected override cut(err: Error): void {
    this.outcome.resolve({ kind: 'cut', code: (err as { code?: string }).code });
  }

  onHeaders(statusCode: number): boolean {
    if (statusCode >= 200) this.status = statusCode;
    this.headersSeen.resolve();
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.text += chunk.toString();
    return true;
  }

  onComplete(): void {
    this.releaseReplica();
    this.outcome.resolve({ kind: 'complete', status: this.status!, text: this.text, replica: this.replica?.id });
  }
}

function environment(hold: Partial<HoldOptions> = {}) {
  const routes = new MemoryRouteTable();
  defer(() => routes.close());
  const logged: string[] = [];
  // random() = 0.99 keeps the first of tied replicas: the order in a route is the order they are tried.
  const env: UpstreamEnv = { routes, upstreams: routes.upstreams, random: () => 0.99, hold: new ColdStartHold(routes, routes.held, holdOptions(hold)), log: (m) => logged.push(m) };
  const attempt = (path = '/', body: string | null = null) => {
    const a = new RecordingAttempt(env, routes.get('main', 'svc')!, path, body);
    a.start();
    return a;
  };
  return { routes, env, attempt, logged, outstanding: (id: string) => routes.upstreams.outstanding(id) };
}

/** An upstream that counts its requests and runs `handler` for them. */
async function countingUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  let seen = 0;
  const up = await startUpstream((req, res) => {
    seen++;
    handler(req, res);
  }, defer);
  return { ...up, seen: () => seen };
}

/** An upstream answering `/hang` only once `release()` is called, echoing elsewhere: keeps one request in flight. */
async function hangingUpstream(name: string) {
  const arrived = deferred();
  const release = deferred();
  const echo = echoHandler(name);
  const up = await startUpstream((req, res) => {
    if (req.url !== '/hang') return echo(req, res);
    arrived.resolve();
    void release.promise.then(() => res.end('late'));
  }, defer);
  return { ...up, arrived: arrived.promise, release: release.resolve };
}

describe('retries', () => {
  it('sends the request to another replica when the first refuses the connection, body intact', async () => {
    const { routes, attempt, logged, outstanding } = environment();
    const alive = await startUpstream(echoHandler('alive'), defer);
    routes.set(route({ replicas: [{ id: 'dead', origin: await deadOrigin() }, { id: 'alive', origin: alive.origin }] }));
    const outcome = await attempt('/p', 'payload').outcome.promise;
    expect(outcome).toMatchObject({ kind: 'complete', status: 200, replica: 'alive' });
    expect(JSON.parse((outcome as { text: string }).text)).toMatchObject({ replica: 'alive', body: 'payload' });
    expect([outstanding('dead'), outstanding('alive')]).toEqual([0, 0]);
    expect(logged).toEqual([]);
  });

  it('does not retry once the request reached a replica, nor after response headers', async () => {
    const { routes, attempt, outstanding } = environment();
    // The first replica takes the request and drops the connection without answering.
    const dropping = await countingUpstream((req) => req.socket.destroy());
    const spare = await countingUpstream(echoHandler('spare'));
    routes.set(route({ replicas: [{ id: 'drop', origin: dropping.origin }, { id: 'spare', origin: spare.origin }] }));
    const dropped = await attempt('/x', 'body').outcome.promise;
    expect(dropped).toMatchObject({ kind: 'fail', rejection: { status: 502, code: 'UPSTREAM_UNAVAILABLE' } });

    // The first replica answers headers and part of a body, then dies: the client's answer is cut, not retried.
    const breaking = await countingUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial', () => res.socket?.destroy());
    });
    routes.set(route({ replicas: [{ id: 'break', origin: breaking.origin }, { id: 'spare', origin: spare.origin }] }));
    const cut = await attempt('/y').outcome.promise;
    expect(cut.kind).toBe('cut');
    expect([dropping.seen(), breaking.seen(), spare.seen()]).toEqual([1, 1, 0]);
    expect([outstanding('drop'), outstanding('break'), outstanding('spare')]).toEqual([0, 0, 0]);
  });

  it('answers 502 after every replica refused, and logs it once', async () => {
    const { routes, attempt, logged } = environment();
    routes.set(route({ replicas: [{ id: 'd1', origin: await deadOrigin() }, { id: 'd2', origin: await deadOrigin() }] }));
    const a = attempt();
    expect(await a.outcome.promise).toMatchObject({ kind: 'fail', rejection: { status: 502, detail: 'Error requesting upstream of service main/svc' } });
    expect(a.fails).toBe(1);
    expect(logged).toEqual(['proxy: no replica of main/svc accepted the connection (ECONNREFUSED)']);
  });

  it('maps a replica that sends no headers within the read timeout to 504', async () => {
    const { routes, attempt, outstanding } = environment();
    const slow = await hangingUpstream('slow');
    routes.set(route({ readTimeoutMs: 100, replicas: [{ id: 's', origin: slow.origin }] }));
    expect(await attempt('/hang').outcome.promise).toMatchObject({ kind: 'fail', rejection: { status: 504, code: 'UPSTREAM_TIMEOUT' } });
    expect(outstanding('s')).toBe(0);
    slow.release();
  });
});

describe('the outstanding counter', () => {
  // One request stays in flight on the replica throughout, so a second release of the same attempt would show.
  async function withOneInFlight() {
    const env = environment();
    const up = await hangingUpstream('A');
    env.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const inFlight = env.attempt('/hang');
    await up.arrived;
    expect(env.outstanding('a')).toBe(1);
    return { ...env, up, inFlight };
  }

  it('is released exactly once after a success', async () => {
    const { attempt, outstanding, up, inFlight } = await withOneInFlight();
    expect(await attempt('/ok').outcome.promise).toMatchObject({ kind: 'complete', status: 200 });
    expect(outstanding('a')).toBe(1);
    up.release();
    await inFlight.outcome.promise;
    expect(outstanding('a')).toBe(0);
  });

  it('is released exactly once after a failure', async () => {
    const { routes, attempt, outstanding, up, inFlight } = await withOneInFlight();
    routes.set(route({ readTimeoutMs: 50, replicas: [{ id: 'a', origin: up.origin }] }));
    expect(await attempt('/hang').outcome.promise).toMatchObject({ kind: 'fail', rejection: { status: 504 } });
    expect(outstanding('a')).toBe(1);
    up.release();
    await inFlight.outcome.promise;
    expect(outstanding('a')).toBe(0);
  });

  it('is released exactly once when the client goes away mid-response, and the replica sees the abort', async () => {
    const { routes, attempt, outstanding, up, inFlight } = await withOneInFlight();
    const replicaSawClose = deferred<boolean>();
    const streaming = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      res.on('close', () => replicaSawClose.resolve(res.writableFinished));
    }, defer);
    routes.set(route({ replicas: [{ id: 'a', origin: up.origin }, { id: 's', origin: streaming.origin }] }));
    const leaving = attempt('/sse');
    await leaving.headersSeen.promise;
    expect(outstanding('s')).toBe(1);
    leaving.leave();
    expect(await leaving.outcome.promise).toEqual({ kind: 'fail', rejection: expect.objectContaining({ status: 499 }) });
    expect(await replicaSawClose.promise).toBe(false);
    expect([outstanding('a'), outstanding('s')]).toEqual([1, 0]);
    up.release();
    await inFlight.outcome.promise;
    expect(outstanding('a')).toBe(0);
  });
});

describe('cold-start hold', () => {
  const coldRoute = () => route({ replicas: [], canScaleFromZero: true });

  it('holds until a replica is routed, then forwards (onColdStart once per service)', async () => {
    const woken: string[] = [];
    const first = deferred();
    const { routes, attempt, outstanding } = environment({ onColdStart: (p, r) => { woken.push(`${p}/${r}`); first.resolve(); } });
    routes.set(coldRoute());
    const a = attempt('/one', 'held-body');
    const b = attempt('/two');
    await first.promise;
    expect(routes.held.count('main/svc')).toBe(2);
    const up = await startUpstream(echoHandler('late'), defer);
    routes.set(route({ replicas: [{ id: 'late', origin: up.origin }], canScaleFromZero: true }));
    const [ra, rb] = await Promise.all([a.outcome.promise, b.outcome.promise]);
    expect(ra).toMatchObject({ kind: 'complete', status: 200, replica: 'late' });
    expect(JSON.parse((ra as { text: string }).text)).toMatchObject({ body: 'held-body', url: '/one' });
    expect(rb).toMatchObject({ kind: 'complete', status: 200 });
    expect(woken).toEqual(['main/svc']);
    expect([routes.held.count('main/svc'), outstanding('late')]).toEqual([0, 0]);
  });

  it('answers 503 with Retry-After at once when the queue is full, and when the hold times out', async () => {
    const woken = deferred();
    const { routes, attempt } = environment({ maxHeldPerService: 1, holdTimeoutMs: 100, onColdStart: () => woken.resolve() });
    routes.set(coldRoute());
    const held = attempt('/held');
    await woken.promise;
    const overflow = await attempt('/overflow').outcome.promise;
    expect(overflow).toMatchObject({ kind: 'fail', rejection: { status: 503, code: 'SCALE_UP_QUEUE_FULL', headers: { 'retry-after': '5' } } });
    expect(await held.outcome.promise).toMatchObject({ kind: 'fail', rejection: { status: 503, code: 'NO_READY_REPLICAS', headers: { 'retry-after': '5' } } });
    expect(routes.held.count('main/svc')).toBe(0);
  });

  it('ends the wait when the client goes away, freeing its place in the queue', async () => {
    const woken = deferred();
    const { routes, attempt } = environment({ maxHeldPerService: 1, onColdStart: () => woken.resolve() });
    routes.set(coldRoute());
    const leaving = attempt('/gone');
    await woken.promise;
    leaving.leave();
    expect(await leaving.outcome.promise).toMatchObject({ kind: 'fail', rejection: { status: 499 } });
    expect(leaving.fails).toBe(1);
    expect(routes.held.count('main/svc')).toBe(0);
    // The freed place is usable: the next request is held, not refused as "queue full".
    const next = attempt('/next');
    await Promise.resolve();
    expect(routes.held.count('main/svc')).toBe(1);
    const up = await startUpstream(echoHandler('A'), defer);
    routes.set(route({ replicas: [{ id: 'a', origin: up.origin }], canScaleFromZero: true }));
    expect(await next.outcome.promise).toMatchObject({ kind: 'complete', status: 200 });
  });

  it('answers 503 at once, without holding, when the service cannot scale from zero', async () => {
    const { routes, attempt } = environment();
    routes.set(route({ replicas: [] }));
    expect(await attempt().outcome.promise).toMatchObject({ kind: 'fail', rejection: { status: 503, code: 'NO_READY_REPLICAS', detail: 'Service main/svc has no ready replicas' } });
    expect(routes.held.count('main/svc')).toBe(0);
  });
});
