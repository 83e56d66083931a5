import { describe, expect, it } from 'vitest';
import type { ReplicaRecord, RunRecord } from '../../core/state/schema.js';
import { desiredOf, setDesired } from '../../core/runs/index.js';
import { AutoscalerLoop, type AutoscalerLoopOptions, type LoadSource } from './autoscaler-loop.js';
import { serviceConfig } from '../../../test/helpers/configs.js';

const scaling = { metric: 'rps' as const, target: 2, window: 30, scale_up_delay: 5, scale_down_delay: 10 };

function run(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'r1', name: 'svc', project: 'main', user: 'admin', configRaw: {}, config: serviceConfig(),
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

/** A world with replica groups: setDesired is core's (per group, clamped), as ControlPlane uses it. */
function groupedWorld() {
  const web = { name: 'web', replicas: { min: 0, max: 3 }, autoscaling: true, scaling };
  const api = { name: 'api', replicas: { min: 1, max: 4 }, autoscaling: true, scaling: { ...scaling, target: 10, window: 60, scale_up_delay: 20 } };
  const fixed = { name: 'fixed', replicas: { min: 1, max: 1 }, autoscaling: false };
  const base = run({ desiredReplicas: 2 });
  const w = world({ ...base, settings: { ...base.settings, replicas: { min: 2, max: 8 }, scaling: undefined, groups: [web, api, fixed] } });
  w.options.setDesired = (_p, _n, n, group) => {
    w.state.run = setDesired(w.state.run, n, group);
    return desiredOf(w.state.run, group);
  };
  return w;
}

describe('AutoscalerLoop with replica groups', () => {
  it('decides per group, each with its own window, target and delays; a group without scaling keeps its count', () => {
    const w = groupedWorld();
    const loop = new AutoscalerLoop(w.options);
    w.state.rps = 12;
    loop.tick();
    // web: 0 → 3 at once (cold start; 12 / target 2 clamped to max 3); api: 1 → 2 (target 10), never scaled before.
    expect(w.state.run.desiredByGroup).toEqual({ web: 3, api: 2, fixed: 1 });
    expect(w.state.windows).toEqual([30, 60]);
    expect(w.state.run.desiredReplicas).toBe(6);
  });

  it('holds each group by its own delay after its own last change', () => {
    const w = groupedWorld();
    const loop = new AutoscalerLoop(w.options);
    w.state.rps = 3;
    loop.tick(); // web 0 → 2, api stays 1
    expect(w.state.run.desiredByGroup).toEqual({ web: 2, api: 1, fixed: 1 });
    w.state.rps = 25;
    w.advance(5_000);
    loop.tick(); // web's 5 s delay passed: → 3; api (never changed) scales at once: → 3
    expect(w.state.run.desiredByGroup).toEqual({ web: 3, api: 3, fixed: 1 });
    w.state.rps = 45;
    w.advance(10_000);
    loop.tick(); // api changed 10 s ago, its scale_up_delay is 20 s
    expect(w.state.run.desiredByGroup?.api).toBe(3);
    w.advance(10_000);
    loop.tick();
    expect(w.state.run.desiredByGroup?.api).toBe(4);
  });

  it('leaves a group in a rolling deployment alone', () => {
    const w = groupedWorld();
    w.state.run = { ...w.state.run, deployment: 1, replicas: [{ ...replica(0, 0), group: 'web' }] };
    w.state.rps = 12;
    new AutoscalerLoop(w.options).tick();
    expect(w.state.run.desiredByGroup).toEqual({ web: 0, api: 2, fixed: 1 });
  });
});

describe('AutoscalerLoop with a replica failing mid-scale', () => {
  it('the failure counts as a scaling event: the next step waits scale_up_delay after it', () => {
    const w = world(run({ desiredReplicas: 1, settings: { ...run().settings, replicas: { min: 0, max: 3 } } }));
    w.state.run = { ...w.state.run, replicas: [replica(0, w.now())] };
    w.state.rps = 5; // wants 3
    w.advance(5_000);
    w.loop.tick();
    expect(w.state.run.desiredReplicas).toBe(3);
    // One of the new replicas fails 4 s later; the reconciler will replace it, the desired count stays.
    w.advance(4_000);
    w.state.run = { ...w.state.run, replicas: [...w.state.run.replicas, { ...replica(1, w.now() - 4_000), status: 'failed', ready: false, finishedAt: w.now() }] };
    w.state.rps = 0.5;
    w.advance(9_999);
    w.loop.tick();
    expect(w.state.run.desiredReplicas).toBe(3);
    w.advance(1);
    w.loop.tick();
    expect(w.state.run.desiredReplicas).toBe(1);
  });
});

describe('AutoscalerLoop forgetting finished services', () => {
  it('forgets a service once its last run finished, not while a run of that name is active', () => {
    const forgotten: string[] = [];
    const w = world(run({ settings: { ...run().settings, autoscaling: false, scaling: undefined } }));
    const loop = new AutoscalerLoop({ ...w.options, load: { ...w.options.load, forget: (p, n) => forgotten.push(`${p}/${n}`) } });
    loop.tick();
    w.state.run = { ...w.state.run, status: 'terminating', terminationReason: 'stopped_by_user' };
    loop.tick();
    expect(forgotten).toEqual([]);
    w.state.run = { ...w.state.run, status: 'terminated' };
    loop.tick();
    loop.tick();
    expect(forgotten).toEqual(['main/svc']);
  });
});
