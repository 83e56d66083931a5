/**
 * Issue 14 through the config language, the run settings, the route sync and the CLI's renderers: `failure_threshold`
 * and `stream_idle_timeout` parsed and stored, the idle limit each route carries (DSTACK_SERVICE_CLIENT_TIMEOUT as
 * the default), and an unhealthy replica as `ps -v` and the apply progress show it.
 */
import { describe, expect, it } from 'vitest';
import { buildSettings } from '../../../src/core/runs/index.js';
import { DEFAULT_STREAM_IDLE_SECONDS, defaultStreamIdleMs, streamIdleMs } from '../../../src/core/runs/stream-idle.js';
import { routeFor } from '../../../src/daemon/reconcile/routes-sync.js';
import { progressLines } from '../../../src/ui/apply-progress.js';
import { renderRunsTable } from '../../../src/ui/runs-table.js';
import { serviceConfig } from '../../helpers/configs.js';
import { T0, replica as replicaView, run as runView } from '../cli/fixtures.js';
import { replica, run, settings } from '../reconcile/fixtures.js';

const probe = { type: 'http', url: '/health' };

describe('config and settings', () => {
  it('failure_threshold is stored per probe, 3 when omitted (also for the default model probe)', () => {
    const s = buildSettings(serviceConfig({ probes: [{ ...probe, failure_threshold: 5 }, probe] }));
    expect(s.probes.map((p) => p.failureThreshold)).toEqual([5, 3]);
    expect(buildSettings(serviceConfig({ model: 'llama' })).probes[0]?.failureThreshold).toBe(3);
  });

  it('a failure_threshold below 1 names the key', () => {
    expect(() => serviceConfig({ probes: [{ ...probe, failure_threshold: 0 }] })).toThrow("probes[0].failure_threshold: must be at least 1");
  });

  it('stream_idle_timeout takes a duration or off (0: no limit); omitted, the service has none of its own', () => {
    expect(buildSettings(serviceConfig({ stream_idle_timeout: '20m' })).streamIdleTimeoutSeconds).toBe(1200);
    expect(buildSettings(serviceConfig({ stream_idle_timeout: 'off' })).streamIdleTimeoutSeconds).toBe(0);
    expect(buildSettings(serviceConfig({})).streamIdleTimeoutSeconds).toBeUndefined();
    expect(() => serviceConfig({ stream_idle_timeout: 'soon' })).toThrow(/stream_idle_timeout/);
  });
});

describe('the idle limit of a route', () => {
  it('defaults to 10 minutes; DSTACK_SERVICE_CLIENT_TIMEOUT (seconds) replaces that default', () => {
    expect(DEFAULT_STREAM_IDLE_SECONDS).toBe(600);
    expect(defaultStreamIdleMs({})).toBe(600_000);
    expect(defaultStreamIdleMs({ DSTACK_SERVICE_CLIENT_TIMEOUT: '120' })).toBe(120_000);
    expect(defaultStreamIdleMs({ DSTACK_SERVICE_CLIENT_TIMEOUT: 'x' })).toBe(600_000);
  });

  it("a service's own stream_idle_timeout wins over the daemon's default", () => {
    expect(streamIdleMs({}, 120_000)).toBe(120_000);
    expect(streamIdleMs({ streamIdleTimeoutSeconds: 1800 }, 120_000)).toBe(1_800_000);
    expect(streamIdleMs({ streamIdleTimeoutSeconds: 0 }, 120_000)).toBe(0);
  });

  const options = { readTimeoutMs: 60_000, connection: () => ({ replicaOrigin: (port: number) => ({ origin: `http://127.0.0.1:${port}` }) }) };

  it('routeFor carries it', () => {
    expect(routeFor(run({ status: 'running' }), options).readTimeoutMs).toBe(60_000);
    expect(routeFor(run({ status: 'running', settings: settings({ streamIdleTimeoutSeconds: 900 }) }), options).readTimeoutMs).toBe(900_000);
  });

  it('routeFor leaves an unhealthy replica out while another is ready, and keeps it when it is the last one', () => {
    const sick = replica({ num: 1, id: 'svc-1-0', ready: false, unhealthy: { since: 1, reason: 'x' } });
    expect(routeFor(run({ status: 'running', replicas: [replica(), sick] }), options).replicas.map((r) => r.id)).toEqual(['svc-0-0']);
    expect(routeFor(run({ status: 'running', replicas: [sick, replica({ num: 2, id: 'svc-2-0', ready: false })] }), options).replicas.map((r) => r.id)).toEqual(['svc-1-0']);
  });
});

describe('an unhealthy replica in the CLI', () => {
  const unhealthy = { since: T0, reason: 'GET /health failed 3 times in a row (HTTP 500)', routed: false, replacing: false };

  it('ps shows it unhealthy, and -v says why and what happens to it', () => {
    const r = runView({ desiredReplicas: 2, replicas: [replicaView(), replicaView({ num: 1, ready: false, unhealthy, probes: [{ successStreak: 0, lastOk: false, readyAfter: 1 }] })] });
    const plain = renderRunsTable([r], { now: T0 }).split('\n');
    expect(plain[3]).toMatch(/^ {2}replica=1 .* unhealthy /);
    const verbose = renderRunsTable([r], { now: T0, verbose: true, width: 400 }).split('\n');
    expect(verbose[3]).toContain('×');
    expect(verbose[3]).toContain('unhealthy: GET /health failed 3 times in a row (HTTP 500); out of routing');
    const last = runView({ replicas: [replicaView({ ready: false, unhealthy: { ...unhealthy, routed: true, replacing: true } })] });
    const row = renderRunsTable([last], { now: T0, verbose: true, width: 400 }).split('\n')[1]!;
    expect(row).toMatch(/ unhealthy /);
    expect(row).toContain('still routed: no other replica is ready, replacing');
  });

  it('the apply progress prints the change, and the reason a replica was replaced for', () => {
    const before = runView({ replicas: [replicaView()] });
    const sick = runView({ replicas: [replicaView({ ready: false, unhealthy })] });
    expect(progressLines(before, sick)).toEqual([
      'http-server-service replica=0: running, unhealthy: GET /health failed 3 times in a row (HTTP 500); out of routing',
    ]);
    const stopped = runView({ replicas: [replicaView({ status: 'terminated', ready: false, reason: 'unhealthy', unhealthy })] });
    expect(progressLines(sick, stopped)).toEqual(['http-server-service replica=0: terminated, replaced: GET /health failed 3 times in a row (HTTP 500)']);
  });
});
