/**
 * Failed logins against projects (issue 17) in a real daemon: a known user's token refused by a project it is not
 * a member of is answered 403 (401 on the model endpoint) however often, on the service proxy, the model endpoint,
 * the control API and attach, and never locks the address out; unknown tokens do, and they are counted once per
 * address across the control API and the proxy (5 + 5 reach the limit of 10). Replicas run on the local machine.
 */
import { request as httpRequest } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../../src/core/api.js';
import { stopLocalAgent } from '../../../src/backends/local/agent-process.js';
import { runDaemon, type Daemon } from '../../../src/daemon/main.js';
import { freePort } from '../../helpers/net.js';
import { Api, ROOT, buildAgent, isReady, removeDir, tempDir, waitFor } from '../daemon/harness.js';

/** One request's status and Retry-After; an upgrade request (attach) answers 101 when let through. */
function send(url: string, token: string, upgrade = false): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...(upgrade ? { connection: 'Upgrade', upgrade: 'dstack-attach' } : {}) };
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}) }));
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve({ status: 101 });
    });
    req.on('error', reject);
    req.end();
  });
}

const statuses = async (n: number, url: string, token: string, upgrade = false): Promise<number[]> => {
  const out: number[] = [];
  // One after another: each refusal is counted (or not) before the next request is checked.
  for (let i = 0; i < n; i++) out.push((await send(url, token, upgrade)).status);
  return out;
};

describe('failed logins with projects', () => {
  let dir: string;
  let home: string;
  let daemon: Daemon;
  const tokens = { alice: '', bob: '' };
  const run = `ll-${process.pid}`;

  beforeAll(async () => {
    dir = await tempDir('dstack-login-limits-');
    home = join(dir, 'home');
    const agent = await buildAgent(dir);
    const env = { ...process.env, DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`, DSTACK_AGENT_BIN: agent };
    daemon = await runDaemon({ home, port: 0, env, exitOnCompromise: false, tickMs: 250 });
    const admin = new Api(daemon.url, /^token:\s*(\S+)/m.exec(await readFile(join(home, 'config.yml'), 'utf8'))?.[1] ?? '');
    for (const user of ['alice', 'bob'] as const) {
      const r = await admin.call<{ token: string }>('POST', '/api/users', { name: user });
      expect(r.status).toBe(200);
      tokens[user] = r.body.token;
    }
    const alice = new Api(daemon.url, tokens.alice);
    expect((await alice.call('POST', '/api/projects', { name: 'pa' })).status).toBe(200);
    const port = await freePort();
    const applied = await alice.call<RunView>('POST', '/api/projects/pa/runs/apply', {
      config: { type: 'service', name: run, commands: [`node ${join(ROOT, 'test/fixtures/servers/http-echo.mjs')}`], env: { PORT: String(port) }, port, stop_duration: 1 },
    });
    expect(applied.status).toBe(200);
    await waitFor('the replica to be ready', async () => isReady((await alice.call<RunView>('GET', `/api/projects/pa/runs/${run}`)).body), 120_000);
  }, 180_000);

  afterAll(async () => {
    await new Api(daemon.url, tokens.alice).call('POST', `/api/projects/pa/runs/${run}/stop`, { abort: true }).catch(() => undefined);
    await daemon?.close();
    await stopLocalAgent(join(home, 'server', 'local-agent'));
    await removeDir(dir);
  });

  it("refuses a non-member's token without counting it, and counts unknown tokens once per address across the control API and proxy", async () => {
    const service = `${daemon.url}/proxy/services/pa/${run}/`;
    const models = `${daemon.url}/proxy/models/pa/v1/models`;
    const control = `${daemon.url}/api/projects/pa/runs`;
    const attach = `${daemon.url}/api/projects/pa/runs/${run}/attach`;
    // Past the limit of 10 on every entry point: a non-member is never taken for a guesser.
    expect(await statuses(12, service, tokens.bob)).toEqual(Array(12).fill(403));
    expect(await statuses(12, models, tokens.bob)).toEqual(Array(12).fill(401));
    expect(await statuses(12, control, tokens.bob)).toEqual(Array(12).fill(403));
    expect(await statuses(12, attach, tokens.bob, true)).toEqual(Array(12).fill(403));
    expect((await send(service, tokens.alice)).status).toBe(200);

    // Unknown tokens: 5 on the control API and 5 on the proxy are the 10 of one counter.
    expect(await statuses(5, control, 'guess-1')).toEqual(Array(5).fill(401));
    expect((await send(service, tokens.alice)).status).toBe(200);
    expect(await statuses(5, service, 'guess-2')).toEqual(Array(5).fill(403));
    const blocked = await send(service, tokens.alice);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
    expect((await send(control, tokens.bob)).status).toBe(429);
  }, 60_000);
});
