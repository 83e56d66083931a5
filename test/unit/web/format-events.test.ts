import { describe, expect, it } from 'vitest';
import { currentReplicas, formatClock, formatProbes, formatReplicas, formatRps, formatTime, isRunActive, replicaStatus, toneOf } from '../../../src/web/format.js';
import { placements } from '../../../src/web/placements.js';
import { changedEvents, initialEvents } from '../../../src/web/run-events.js';
import { replica, run } from './fixtures.js';

const AT = Date.UTC(2026, 11, 5, 14, 3, 9);

describe('dashboard formatting', () => {
  it('writes times in the locale it is given', () => {
    expect(formatTime(AT, 'en-US', 'UTC')).toBe('Dec 5, 2026, 2:03:09 PM');
    expect(formatTime(AT, 'de-DE', 'UTC')).toBe('05.12.2026, 14:03:09');
    expect(formatClock(AT, 'en-GB', 'UTC')).toBe('14:03:09');
  });

  it('prints request rates and ready/desired replicas', () => {
    expect(formatRps(undefined)).toBe('-');
    expect(formatRps(0)).toBe('0');
    expect(formatRps(1.234)).toBe('1.23');
    expect(formatRps(42.6)).toBe('43');
    const r = run({ desiredReplicas: 3, replicas: [replica({ num: 0 }), replica({ num: 1, ready: false }), replica({ num: 2, status: 'provisioning', ready: false })] });
    expect(formatReplicas(r)).toBe('1/3');
  });

  it('shows the newest submission of each replica, and ended ones only once the run ended', () => {
    const old = replica({ num: 0, submission: 0, status: 'failed', ready: false });
    const now = replica({ num: 0, submission: 1 });
    const gone = replica({ num: 1, status: 'terminated', ready: false });
    expect(currentReplicas(run({ replicas: [old, now, gone] }))).toEqual([now]);
    expect(currentReplicas(run({ status: 'terminated', replicas: [old, now, gone] }))).toEqual([now, gone]);
  });

  it('names probes and unhealthy replicas as a user reads them', () => {
    expect(formatProbes(replica())).toBe('-');
    const probes = [
      { successStreak: 2, readyAfter: 2 },
      { successStreak: 0, lastOk: false, readyAfter: 1 },
      { successStreak: 1, readyAfter: 3 },
    ];
    expect(formatProbes(replica({ probes }))).toBe('passed, failing, 1/3');
    expect(replicaStatus(replica({ unhealthy: { since: 1, reason: 'probe 0 failed', routed: true, replacing: false } }))).toBe('unhealthy');
  });

  it('takes status tones from the CLI’s colours', () => {
    expect(toneOf('running')).toBe('ok');
    expect(toneOf('provisioning')).toBe('info');
    expect(toneOf('failed')).toBe('bad');
    expect(toneOf('unhealthy')).toBe('warn');
    expect(toneOf('terminated')).toBe('muted');
    expect(isRunActive(run({ status: 'terminating' }))).toBe(false);
    expect(isRunActive(run({ status: 'provisioning' }))).toBe(true);
  });
});

describe('run events from streamed views', () => {
  it('tells what the first view knows, oldest first', () => {
    const v = run({ status: 'terminated', finishedAt: 9_000, replicas: [replica({ status: 'terminated', submittedAt: 2_000, finishedAt: 8_000, reason: 'stopped_by_user' })] });
    expect(initialEvents(v).map((e) => [e.at, e.text])).toEqual([
      [1_000, 'run submitted'],
      [2_000, 'replica 0 submitted'],
      [8_000, 'replica 0 terminated (stopped_by_user)'],
      [9_000, 'run terminated'],
    ]);
  });

  it('turns the difference of two views into status moves, readiness, new replicas and the desired count', () => {
    const before = run({ status: 'provisioning', replicas: [replica({ status: 'pulling', ready: false })] });
    const after = run({ status: 'running', desiredReplicas: 2, replicas: [replica({ status: 'running', ready: true }), replica({ num: 1, status: 'submitted', ready: false })] });
    expect(changedEvents(before, after, 5).map((e) => e.text)).toEqual([
      'run provisioning → running',
      'desired replicas 1 → 2',
      'replica 0 pulling → running',
      'replica 0 ready',
      'replica 1 submitted',
    ]);
    expect(changedEvents(after, after, 6)).toEqual([]);
  });
});

describe('what runs where', () => {
  it('groups replicas by instance, with `local` for this machine', () => {
    const a = run({ name: 'a', replicas: [replica({ instance: 'fleet-0' }), replica({ num: 1, backend: 'local' })] });
    const b = run({ name: 'b', replicas: [replica({ instance: 'fleet-0' }), replica({ num: 1, status: 'provisioning' })] });
    expect(Object.fromEntries(placements([a, b]))).toEqual({
      'fleet-0': [
        { run: 'a', replica: 0 },
        { run: 'b', replica: 0 },
      ],
      local: [{ run: 'a', replica: 1 }],
    });
  });
});
