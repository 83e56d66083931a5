/**
 * Autoscaling and rate limits with the built CLI (issue 7 "done when"): a `replicas: 0..3`, `target: 5` echo
 * service cold-starts on its first request without a 503, a fixed-rate load raises it to 3 replicas, and when the
 * load stops it goes back to 0 — every request of the test answered 2xx. A `rate_limits` rule of 10 rps admits
 * 10 rps (±10%) of a sustained 30 rps load and answers the rest 429 with `Retry-After`.
 * The shortest delays and window the schema accepts keep it short; the daemon's autoscaler ticks every second
 * (DSTACK_AUTOSCALER_TICK_MS). Needs `npm run build` and the test dockerd (`scripts/test-hosts.sh up 1`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../src/core/api.js';
import { echoServiceYaml, eventually, newCli, requireDocker, uniqueName, type Cli } from './cli-harness.js';
import { startLoad } from './load.js';

const SCALED = uniqueName('e2e-scale');
const LIMITED = uniqueName('e2e-limit');
const GROUPED = uniqueName('e2e-groups');
let cli: Cli;

const service = (name: string, replicas: number | string, extra: string) => echoServiceYaml(name, replicas, `stop_duration: 1s\n${extra}`);

const live = (v: RunView) => v.replicas.filter((r) => !['terminated', 'aborted', 'failed', 'done'].includes(r.status));
const readyCount = (v: RunView) => v.replicas.filter((r) => r.status === 'running' && r.ready).length;
const url = (name: string, path: string) => `http://127.0.0.1:${cli.port}/proxy/services/main/${name}${path}`;
const runOf = async (name: string) => (await cli.ps()).find((r) => r.name === name);

beforeAll(async () => {
  await requireDocker();
  cli = await newCli();
  cli.env.DSTACK_AUTOSCALER_TICK_MS = '1000';
});

afterAll(async () => {
  await cli?.cleanup([SCALED, LIMITED, GROUPED]);
});

describe('autoscaling with the built CLI', () => {
  it('cold-starts without a 503, scales 0 → 3 under load and back to 0, every request answered 2xx', async () => {
    const file = await cli.write(
      'scaled.dstack.yml',
      service(SCALED, '0..3', `scaling:
  metric: rps
  target: 5
  window: 30s
  scale_up_delay: 0s
  scale_down_delay: 5s
`),
    );
    const applied = await cli.run(['apply', '-f', file, '-y', '-d']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    const before = await runOf(SCALED);
    expect([before?.desiredReplicas, live(before!).length]).toEqual([0, 0]);

    // The first request is held while the first replica starts, then forwarded.
    const cold = await startLoad({ url: () => url(SCALED, '/first'), rps: 1, maxSeconds: 0 }).finish();
    expect(cold.statuses).toEqual([200]);

    // 20 rps against target 5 asks for 4 replicas, clamped to 3.
    const load = startLoad({ url: (i) => url(SCALED, `/load/${i}`), rps: 20, maxSeconds: 120 });
    let peak: RunView;
    try {
      peak = await eventually('3 ready replicas under load', async () => {
        const v = await runOf(SCALED);
        return v && v.desiredReplicas === 3 && readyCount(v) === 3 ? v : undefined;
      }, 110_000);
    } finally {
      const { statuses } = await load.stop();
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s < 200 || s >= 300)).toEqual([]);
    }
    expect(peak.rps).toBeGreaterThan(10);

    // No load: the 30 s window empties and, scale_down_delay after each step, replicas drain and stop.
    const down = await eventually('scale back to 0', async () => {
      const v = await runOf(SCALED);
      return v && v.desiredReplicas === 0 && live(v).length === 0 ? v : undefined;
    }, 120_000);
    expect(down.status).toBe('pending');
  }, 300_000);

  it('a 10 rps rate limit admits 10 rps (±10%) of a 30 rps load and answers 429 with Retry-After', async () => {
    const file = await cli.write(
      'limited.dstack.yml',
      service(LIMITED, 1, `rate_limits:
  - prefix: /
    rps: 10
    burst: 1
`),
    );
    const applied = await cli.run(['apply', '-f', file, '-y']);
    expect(applied.exitCode, applied.stderr).toBe(0);

    const load = startLoad({ url: (i) => url(LIMITED, `/r/${i}`), rps: 30, maxSeconds: 6 });
    const { statuses, retryAfter, sendingMs } = await load.finish();
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    const accepted = statuses.filter((s) => s === 200).length;
    const rate = accepted / (sendingMs / 1000);
    expect(rate).toBeGreaterThanOrEqual(9);
    expect(rate).toBeLessThanOrEqual(11);
    expect(retryAfter.length).toBe(statuses.length - accepted);
    expect(retryAfter.every((v) => v !== undefined && Number(v) >= 1)).toBe(true);
  }, 200_000);

  it('replica groups: each group runs its own commands and count; load scales the group with a range only', async () => {
    const group = (name: string, extra: string) => `  - name: ${name}
    commands:
      - ECHO_NAME=${name} node /srv/http-echo.mjs
${extra}`;
    const file = await cli.write(
      'grouped.dstack.yml',
      `type: service
name: ${GROUPED}
image: dstack-test/node:latest
env:
  - PORT=8000
port: 8000
auth: false
stop_duration: 1s
groups:
${group('fixed', '    replicas: 1')}
${group('web', `    replicas: 0..2
    scaling:
      metric: rps
      target: 5
      window: 30s
      scale_up_delay: 0s
      scale_down_delay: 5s`)}
`,
    );
    const applied = await cli.run(['apply', '-f', file, '-y', '-d']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    const started = await eventually('the fixed group running', async () => {
      const v = await runOf(GROUPED);
      return v && readyCount(v) === 1 ? v : undefined;
    });
    expect(started.groups?.map((g) => [g.name, g.desired])).toEqual([['fixed', 1], ['web', 0]]);
    expect(started.replicas.filter((r) => r.status === 'running').map((r) => r.group)).toEqual(['fixed']);

    // Load on the service scales the web group only, and its replicas answer with their own commands.
    const names = new Set<string>();
    const load = startLoad({ url: (i) => url(GROUPED, `/g/${i}`), rps: 20, maxSeconds: 90 });
    try {
      await eventually('both groups answering', async () => {
        const res = await fetch(url(GROUPED, '/whoami'));
        names.add(((await res.json()) as { name: string }).name);
        return names.has('web') && names.has('fixed') ? true : undefined;
      }, 85_000);
    } finally {
      const { statuses } = await load.stop();
      expect(statuses.filter((s) => s < 200 || s >= 300)).toEqual([]);
    }
    const scaled = await runOf(GROUPED);
    expect(scaled?.groups?.find((g) => g.name === 'fixed')?.desired).toBe(1);
    expect(scaled?.groups?.find((g) => g.name === 'web')?.desired).toBeGreaterThan(0);
    const verbose = await cli.run(['ps', '-v']);
    expect(verbose.stdout).toMatch(/group=web\s/);
    expect(verbose.stdout).toMatch(/group=fixed\s.*1\/1/);
  }, 200_000);
});
