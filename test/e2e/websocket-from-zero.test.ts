/**
 * A WebSocket to a service at zero replicas, with the built CLI: the upgrade through `/proxy/services/main/<run>/`
 * is held (not refused with 503) while the autoscaler starts the first replica, then upgraded, and messages echo
 * through the replica (the test image's /srv/http-echo.mjs answers `/ws`). Needs `npm run build` and the test
 * dockerd (`scripts/test-hosts.sh up 1`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RunView } from '../../src/core/api.js';
import { echoServiceYaml, eventually, newCli, requireDocker, uniqueName, type Cli } from './cli-harness.js';

const NAME = uniqueName('e2e-ws0');
let cli: Cli;

const live = (v: RunView) => v.replicas.filter((r) => !['terminated', 'aborted', 'failed', 'done'].includes(r.status));
const readyCount = (v: RunView) => v.replicas.filter((r) => r.status === 'running' && r.ready).length;
const runOf = async () => (await cli.ps()).find((r) => r.name === NAME);

beforeAll(async () => {
  await requireDocker();
  cli = await newCli();
  cli.env.DSTACK_AUTOSCALER_TICK_MS = '1000';
});

afterAll(async () => {
  await cli?.cleanup([NAME]);
});

describe('WebSocket to a service scaled to zero', () => {
  it('holds the connection while the first replica starts, then upgrades and echoes', async () => {
    // A long scale-down delay keeps the replica while the socket is open, whatever the request rate looks like.
    const file = await cli.write(
      'ws.dstack.yml',
      echoServiceYaml(NAME, '0..1', `stop_duration: 1s
scaling:
  metric: rps
  target: 5
  window: 30s
  scale_up_delay: 0s
  scale_down_delay: 10m
`),
    );
    const applied = await cli.run(['apply', '-f', file, '-y', '-d']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    const before = await runOf();
    expect([before?.desiredReplicas, live(before!).length]).toEqual([0, 0]);

    const ws = new WebSocket(`ws://127.0.0.1:${cli.port}/proxy/services/main/${NAME}/ws`);
    const opened = new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += String(c))).on('end', () => reject(new Error(`the upgrade was answered HTTP ${res.statusCode}: ${body}`)));
      });
    });
    void opened.catch(() => undefined); // awaited below; a refusal must not surface as an unhandled rejection first
    // The held upgrade is what scales the service up: a replica is wanted while the client still waits.
    const scaling = await eventually('the held upgrade scaling the service up', async () => {
      const v = await runOf();
      return v && v.desiredReplicas === 1 ? v : undefined;
    });
    expect(scaling.desiredReplicas).toBe(1);
    await opened;
    const ready = await runOf();
    expect(ready && readyCount(ready)).toBe(1);

    const replies: string[] = [];
    const twoReplies = new Promise<void>((resolve) => ws.on('message', (d) => replies.push(String(d)) === 2 && resolve()));
    ws.send('hello');
    ws.send('from zero');
    await twoReplies;
    expect(replies).toEqual(['hello', 'from zero']);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.close(1000);
    expect(await closed).toBe(1000);
  }, 180_000);
});
