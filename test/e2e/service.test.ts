/**
 * The main job end to end: `dstack apply` of the seed's services with the built CLI, the daemon it starts, the
 * local backend on the real test dockerd, and requests through the proxy. Needs root and
 * `scripts/test-hosts.sh up 1` (the test dockerd and the dstack-test/* images) and `npm run build`.
 */
import { request } from 'undici';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersOf, eventually, newCli, requireDocker, uniqueName, type Cli, echoServiceYaml } from './cli-harness.js';

const PY = uniqueName('e2e-http');
const ECHO = uniqueName('e2e-echo');
let cli: Cli;

// Seed 000's first example, as written (python: "3.10", `python3 -m http.server` on 8000).
const pythonService = (name: string) => `type: service
name: ${name}
python: "3.10"
commands:
  - python3 -m http.server
port: 8000
`;


beforeAll(async () => {
  await requireDocker();
  cli = await newCli();
});

afterAll(async () => {
  await cli?.cleanup([PY, ECHO]);
});

describe('dstack apply of the seed service', () => {
  let url = '';

  it('shows the plan, provisions, and prints the URL; ps and logs show the truth', async () => {
    const file = await cli.write('service.dstack.yml', pythonService(PY));
    const r = await cli.run(['apply', '-f', file, '-y']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Project\s+main/);
    expect(r.stdout).toMatch(/1\s+local \(docker\)/);
    expect(r.stderr).toContain(`${PY} provisioning completed (running)`);
    const published = /Service is published at:\n\s+(\S+)/.exec(r.stdout);
    expect(published?.[1]).toBe(`http://127.0.0.1:${cli.port}/proxy/services/main/${PY}/`);
    url = published![1]!;
    // The token is never printed without a terminal: the hint names the file instead.
    expect(r.stderr).toContain('config.yml');
    expect(r.stdout + r.stderr).not.toContain(await cli.token());

    const ok = await request(url, { headers: { authorization: `Bearer ${await cli.token()}` } });
    expect(ok.statusCode).toBe(200);
    expect(await ok.body.text()).toContain('Directory listing');

    const runs = await cli.ps();
    const run = runs.find((x) => x.name === PY);
    expect(run?.status).toBe('running');
    expect(run?.replicas.filter((x) => x.status === 'running' && x.ready)).toHaveLength(1);
    expect(await containersOf(PY)).toHaveLength(1);

    const logs = await cli.run(['logs', PY]);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('"GET / HTTP/1.1" 200');
  });

  it('answers 401 without a token, 403 with a wrong one, 308 without the trailing slash, 404 for an unknown run', async () => {
    const base = `http://127.0.0.1:${cli.port}/proxy/services/main`;
    expect((await request(url)).statusCode).toBe(401);
    expect((await request(url, { headers: { authorization: 'Bearer not-a-token-of-this-project' } })).statusCode).toBe(403);
    const redirect = await request(`${base}/${PY}`, { headers: { authorization: `Bearer ${await cli.token()}` } });
    expect(redirect.statusCode).toBe(308);
    expect(redirect.headers.location).toMatch(new RegExp(`/proxy/services/main/${PY}/$`));
    expect((await request(`${base}/no-such-run/`, { headers: { authorization: `Bearer ${await cli.token()}` } })).statusCode).toBe(404);
  });

  it('re-applying the same file with -y says there is nothing to do', async () => {
    const r = await cli.run(['apply', '-f', 'service.dstack.yml', '-y']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Detected no changes.');
    expect(r.stdout).toContain('Use --force to apply anyway.');
  });

  it('without a terminal and without -y it fails naming -y', async () => {
    const r = await cli.run(['apply', '-f', 'service.dstack.yml', '-n', uniqueName('never')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('-y');
  });

  it('stop removes every container of the run', async () => {
    const r = await cli.run(['stop', PY, '-y']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('Stopped');
    await eventually('no container left', async () => ((await containersOf(PY, true)).length === 0 ? true : undefined));
    const run = (await cli.ps()).find((x) => x.name === PY);
    expect(run?.status).toBe('terminated');
  });
});

describe('a two-replica Node service without auth', () => {
  let url = '';

  beforeAll(async () => {
    const file = await cli.write('echo.dstack.yml', echoServiceYaml(ECHO, 2));
    const r = await cli.run(['apply', '-f', file, '-y', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout) as { url: string; status: string; replicas: unknown[] };
    expect(run.status).toBe('running');
    url = run.url;
  });

  it('balances requests over both replicas (the echo server names its container), without a token', async () => {
    const hosts = new Set<string>();
    for (let i = 0; i < 40 && hosts.size < 2; i++) {
      const res = await request(`${url}echo?i=${i}`);
      expect(res.statusCode).toBe(200);
      hosts.add((JSON.parse(await res.body.text()) as { name: string }).name);
    }
    expect(hosts.size).toBe(2);
    expect(await containersOf(ECHO)).toHaveLength(2);
  });

  it('passes SSE through event by event', async () => {
    const res = await request(`${url}sse?n=4&interval=300`, { headers: { accept: 'text/event-stream' } });
    expect(res.statusCode).toBe(200);
    expect(String(res.headers['content-type'])).toContain('text/event-stream');
    const reads: string[] = [];
    for await (const chunk of res.body) reads.push(String(chunk));
    // 4 events then `data: [DONE]`. A buffering proxy would hand them over in one read; streaming gives each its own.
    expect(reads.join('').match(/^data:/gm)).toHaveLength(5);
    expect(reads.filter((c) => c.includes('data:')).length).toBeGreaterThanOrEqual(5);
  });

  it('echoes over a WebSocket', async () => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}ws`);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hello through the proxy'));
      ws.once('message', (data) => resolve(String(data)));
      ws.once('error', reject);
    });
    ws.close();
    expect(reply).toBe('hello through the proxy');
  });

  it('ps --json reports both replicas ready; stop removes both containers', async () => {
    const run = (await cli.ps()).find((x) => x.name === ECHO);
    expect(run?.desiredReplicas).toBe(2);
    expect(run?.replicas.filter((x) => x.status === 'running' && x.ready).map((x) => x.num).sort()).toEqual([0, 1]);
    const r = await cli.run(['stop', ECHO, '-y']);
    expect(r.exitCode, r.stderr).toBe(0);
    await eventually('no container left', async () => ((await containersOf(ECHO, true)).length === 0 ? true : undefined));
  });
});
