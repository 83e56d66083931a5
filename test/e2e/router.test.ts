/**
 * Replica groups with a router (issue 14) end to end with the built CLI on the test dockerd: a fake SGLang router
 * group and two worker groups, prefill and decode (test/fixtures/servers/sglang-router.mjs, shipped with the applied folder to /workflow).
 * Traffic through the proxy reaches the workers only through the router, paths the router does not serve answer
 * 403, and re-applying with more workers grows the router's worker list (the daemon posts them to its /workers).
 * Worker URLs are container addresses on the Docker bridge, which the router's container reaches directly.
 * Needs `npm run build` and the test dockerd (`scripts/test-hosts.sh up 1`).
 */
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, newCli, requireDocker, uniqueName, type Cli } from './cli-harness.js';

const SVC = uniqueName('e2e-router');
let cli: Cli;

interface Routed {
  router?: string;
  workers: string[];
  upstream: { worker?: string; path: string };
}

const yaml = (workers: number) => `type: service
name: ${SVC}
image: dstack-test/node:latest
env:
  - PORT=8000
port: 8000
auth: false
stop_duration: 1s
groups:
  - name: router
    replicas: 1
    router:
      type: sglang
    commands:
      - node /workflow/sglang-router.mjs router
  - name: prefill
    replicas: 1
    commands:
      - node /workflow/sglang-router.mjs worker
  - name: decode
    replicas: ${workers}
    commands:
      - node /workflow/sglang-router.mjs worker
`;

const url = (path: string) => `http://127.0.0.1:${cli.port}/proxy/services/main/${SVC}${path}`;

async function call(path: string): Promise<{ status: number; body: unknown }> {
  const r = await request(url(path), { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  const text = await r.body.text();
  return { status: r.statusCode, body: JSON.parse(text) as unknown };
}

/** The router's answer once it lists `n` workers. */
const routedWith = (n: number) => async () => {
  const r = await call('/generate');
  const body = r.body as Routed;
  return r.status === 200 && body.workers?.length === n ? body : undefined;
};

beforeAll(async () => {
  await requireDocker();
  cli = await newCli();
  await copyFile(resolve(import.meta.dirname, '../fixtures/servers/sglang-router.mjs'), join(cli.dir, 'sglang-router.mjs'));
});

afterAll(async () => {
  await cli?.cleanup([SVC]);
});

describe('a service with an SGLang router group', () => {
  it('routes through the router only, refuses other paths, and tells the router about new workers', async () => {
    const file = await cli.write('router.dstack.yml', yaml(1));
    const applied = await cli.run(['apply', '-f', file, '-y', '-d']);
    expect(applied.exitCode, applied.stderr).toBe(0);

    // Two worker groups (prefill and decode, as in dstack's PD disaggregation): the router gets the workers of both.
    const first = await eventually('the router listing both workers', routedWith(2), 120_000);
    expect(first.workers.every((w) => /^http:\/\/\d+\.\d+\.\d+\.\d+:8000$/.test(w))).toBe(true);

    // Every answer comes from the router (a worker reached directly would answer without `router`), and the
    // router spreads them over both workers.
    const answers: Routed[] = [];
    for (const path of ['/generate', '/v1/chat/completions', '/chat/completions', '/v1/models', '/generate', '/generate']) {
      const r = await call(path);
      expect(r.status).toBe(200);
      answers.push(r.body as Routed);
    }
    expect(answers.every((a) => a.router === first.router && a.upstream.worker !== undefined)).toBe(true);
    expect(new Set(answers.map((a) => a.upstream.worker)).size).toBe(2);
    expect(answers[1]?.upstream.path).toBe('/v1/chat/completions');

    // The router's own API and any other path are not the service's.
    for (const path of ['/other', '/workers', '/']) {
      const r = await call(path);
      expect([path, r.status]).toEqual([path, 403]);
      expect((r.body as { detail: string }).detail).toMatch(/^Path is not allowed for this service/);
    }

    const grown = await cli.run(['apply', '-f', await cli.write('router.dstack.yml', yaml(2)), '-y', '-d']);
    expect(grown.exitCode, grown.stderr).toBe(0);
    const after = await eventually('the router listing three workers', routedWith(3), 120_000);
    expect(new Set(after.workers).size).toBe(3);
    const view = (await cli.ps()).find((r) => r.name === SVC);
    const running = view?.replicas.filter((r) => r.status === 'running' && r.ready).map((r) => r.group).sort();
    expect(running).toEqual(['decode', 'decode', 'prefill', 'router']);
  }, 300_000);
});
