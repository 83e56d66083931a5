// Project membership through proxy workers (issue 17): with DSTACK_PROXY_WORKERS=2 the workers authenticate from
// token digests the daemon pushes, so a project's service accepts its members (and the server admin) and refuses
// others, and a member added at runtime gets in without a restart. A project made through the API
// runs on the local machine (the process runtime here: no Docker needed).
import { request as httpRequest } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../../src/core/api.js';
import { stopLocalAgent } from '../../../src/backends/local/agent-process.js';
import { runDaemon, type Daemon } from '../../../src/daemon/main.js';
import { freePort } from '../../helpers/net.js';
import { Api, ROOT, buildAgent, isReady, removeDir, tempDir, waitFor } from '../daemon/harness.js';
import { buildProxyWorker } from '../daemon/proxy-worker-bundle.js';

/** One GET over its own connection, so the kernel picks a worker for each. */
function status(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

// Few enough that refused ones stay under the failed-login limit (10 per address), which would answer 429.
const N = 6;
const statuses = (url: string, token: string) => Promise.all(Array.from({ length: N }, () => status(url, token)));

describe('project members through proxy workers', () => {
  let dir: string;
  let home: string;
  let daemon: Daemon;
  let admin: Api;
  const tokens = { alice: '', bob: '' };
  const name = `pw-proj-${process.pid}`;

  beforeAll(async () => {
    dir = await tempDir('dstack-pw-projects-');
    home = join(dir, 'home');
    const [agent, worker] = await Promise.all([buildAgent(dir), buildProxyWorker(dir)]);
    const env = { ...process.env, DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`, DSTACK_AGENT_BIN: agent, DSTACK_PROXY_WORKERS: '2' };
    daemon = await runDaemon({ home, port: 0, env, exitOnCompromise: false, tickMs: 250, proxyWorkerArgv: [worker] });
    const token = /^token:\s*(\S+)/m.exec(await readFile(join(home, 'config.yml'), 'utf8'))?.[1] ?? '';
    admin = new Api(daemon.url, token);
    for (const user of ['alice', 'bob'] as const) {
      const r = await admin.call<{ token: string }>('POST', '/api/users', { name: user });
      expect(r.status).toBe(200);
      tokens[user] = r.body.token;
    }
    expect((await admin.call('POST', '/api/projects', { name: 'pa' }, tokens.alice)).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await admin?.call('POST', `/api/projects/pa/runs/${name}/stop`, { abort: true }).catch(() => undefined);
    await daemon?.close();
    await stopLocalAgent(join(home, 'server', 'local-agent'));
    await removeDir(dir);
  });

  it("accepts the project's members through the workers, refuses others, and follows a member added at runtime", async () => {
    const port = await freePort();
    const alice = new Api(daemon.url, tokens.alice);
    const applied = await alice.call<RunView>('POST', '/api/projects/pa/runs/apply', {
      config: { type: 'service', name, commands: [`node ${join(ROOT, 'test/fixtures/servers/http-echo.mjs')}`], env: { PORT: String(port) }, port, stop_duration: 2 },
    });
    expect([applied.status, applied.body.project, applied.body.user]).toEqual([200, 'pa', 'alice']);
    await waitFor('the replica to be ready', async () => isReady((await alice.call<RunView>('GET', `/api/projects/pa/runs/${name}`)).body), 60_000);
    const url = `${daemon.url}/proxy/services/pa/${name}/`;
    expect(daemon.proxyWorkers?.pids()).toHaveLength(2);
    expect(await statuses(url, tokens.alice)).toEqual(Array(N).fill(200));
    expect(await statuses(url, admin.token)).toEqual(Array(N).fill(200));
    expect(await statuses(url, tokens.bob)).toEqual(Array(N).fill(403));
    // A non-member is no guesser on the workers either (they know every token's digest, never a token): one after
    // another, more than 10 per worker, never a 429.
    const refused: number[] = [];
    for (let i = 0; i < 22; i++) refused.push(await status(url, tokens.bob));
    expect(refused).toEqual(Array(22).fill(403));

    expect((await alice.call('POST', '/api/projects/pa/members', { user: 'bob', role: 'user' })).status).toBe(200);
    await waitFor('bob to be let in', async () => (await status(url, tokens.bob)) === 200, 10_000);
    expect(await statuses(url, tokens.bob)).toEqual(Array(N).fill(200));
  }, 180_000);
});
