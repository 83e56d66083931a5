import { describe, expect, it } from 'vitest';
import type { ReplicaRecord, RunRecord } from '../../core/state/schema.js';
import { AutoscalerLoop, type AutoscalerLoopOptions, type LoadSource } from './autoscaler-loop.js';

const scaling = { metric: 'rps', target: 2, window: 30, scale_up_delay: 5, scale_down_delay: 10 };

function run(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'r1', name: 'svc', project: 'main', user: 'admin', configRaw: {}, config: {},
    settings: {
      replicas: { min: 0, max: 2 }, autoscaling: true, scaling, probes: [], tcpCheck: true, stopDurationSeconds: 1,
      creationPolicy: 'reuse-or-create', auth: true, stripPrefix: true, rateLimits: [],
    },
    specTemplate: {} as RunRecord['specTemplate'],
    status: 'running', submittedAt: 0, deployment: 0, desiredReplicas: 0, submissionBase: 0, replicas: [],
    ...overrides,
  };
}

const replica = (num: number, submittedAt: number): ReplicaRecord => ({
  id: `svc-${num}-0`, num, submission: 0, deployment: 0, status: 'running', ready: true, probes: [], submittedAt,
});

/** A fake world: the runs, a settable load, and setDesired that clamps like ControlPlane does. */
function world(initial: RunRecord) {
  let now = 1_000_000;
  const state = { run: initial, rps: 0, inFlight: 0, windows: [] as number[] };
  const load: LoadSource = {
    rps: (_p, _r, windowSeconds) => (state.windows.push(windowSeconds), state.rps),
    inFlight: () => state.inFlight,
  };
  const options: AutoscalerLoopOptions = {
    runs: () => [state.run],
    load,
    clock: () => now,
    setDesired: (_p, _n, n) => {
      const { min, max } = state.run.settings.replicas;
      state.run = { ...state.run, desiredReplicas: Math.max(min, Math.min(max, n)) };
      return state.run.desiredReplicas;
    },
  };
  const loop = new AutoscalerLoop(options);
  return { state, loop, options, advance: (ms: number) => (now += ms), now: () => now };
}

describe('AutoscalerLoop', () => {
  it('scales up from zero at once, then waits scale_up_delay after the last replica start', () => {
    const w = world(run());
    w.state.rps = 3;
    w.loop.tick();
    expect(w.state.run.desiredReplicas).toBe(2);
    expect(w.state.windows).toEqual([30]);

    const w2 = world(run({ desiredReplicas: 1 }));
    w2.state.run = { ...w2.state.run, replicas: [replica(0, w2.now())] };
    w2.state.rps = 3;
    w2.loop.tick();
    expect(w2.state.run.desiredReplicas).toBe(1);
    w2.advance(5_000);
    w2.loop.tick();
    expect(w2.state.run.desiredReplicas).toBe(2);
  });

  it('holds scale-down for scale_down_delay after a change it did not make (a cold start)', () => {
    const w = world(run());
    w.loop.tick(); // first sight: 0, no load
    w.state.run = { ...w.state.run, desiredReplicas: 1 }; // the proxy's cold start
    w.advance(1_000);
    w.loop.tick();
    expect(w.state.run.desiredReplicas).toBe(1);
    // The change is dated when the loop first sees it (the conservative side).
    w.advance(9_500);
    w.loop.tick();
    expect(w.state.run.desiredReplicas).toBe(1);
    w.advance(500);
    w.loop.tick();
    expect(w.state.run.desiredReplicas).toBe(0);
  });

  it('keeps one replica while a request is in flight', () => {
    const w = world(run({ desiredReplicas: 1, replicas: [replica(0, 0)] }));
    w.state.inFlight = 1;
    w.loop.tick();
    expect(w.state.run.desiredReplicas).toBe(1);
    w.state.inFlight = 0;
    w.loop.tick();
    expect(w.state.run.desiredReplicas).toBe(0);
  });

  it('leaves runs without scaling and ending runs alone', () => {
    const fixed = world(run({ desiredReplicas: 1, settings: { ...run().settings, autoscaling: false, scaling: undefined, replicas: { min: 1, max: 1 } } }));
    fixed.state.rps = 100;
    fixed.loop.tick();
    expect(fixed.state.run.desiredReplicas).toBe(1);
    const ending = world(run({ desiredReplicas: 1, terminationReason: 'stopped_by_user' }));
    ending.state.rps = 100;
    ending.loop.tick();
    expect(ending.state.run.desiredReplicas).toBe(1);
    expect(ending.state.windows).toEqual([]);
  });

  it('start() ticks on a timer until stopped', async () => {
    const w = world(run());
    w.state.rps = 1;
    const loop = new AutoscalerLoop({ ...w.options, tickMs: 5 });
    const stop = loop.start();
    await new Promise((r) => setTimeout(r, 50));
    stop();
    expect(w.state.run.desiredReplicas).toBe(1);
  });
});
