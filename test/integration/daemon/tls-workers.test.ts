/**
 * The daemon over TLS with DSTACK_PROXY_WORKERS=2 (issue 17): after start-up only the workers accept on the port,
 * so every answer here went through a worker that terminated TLS with the daemon's key and relayed to the primary;
 * wrong admin tokens are counted by the primary whichever worker carried them.
 */
import { mkdtemp } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedTrust, type DaemonTls } from '../../../src/core/client/tls-trust.js';
import { runDaemon, type Daemon } from '../../../src/daemon/main.js';
import { makeCert } from '../../helpers/tls-cert.js';
import { buildProxyWorker } from './proxy-worker-bundle.js';
import { removeDir } from './harness.js';

/** One GET on its own connection, so the kernel picks a worker for each. */
function get(url: string, tls: DaemonTls, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('daemon over TLS with proxy_workers 2', () => {
  let dir: string;
  let daemon: Daemon;
  let trust: DaemonTls;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dstack-tls-workers-'));
    const [pem, worker] = await Promise.all([makeCert(dir), buildProxyWorker(dir)]);
    trust = await pinnedTrust(pem.cert);
    const env = { ...process.env, DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`, DSTACK_PROXY_WORKERS: '2' };
    daemon = await runDaemon({ home: join(dir, 'home'), host: '0.0.0.0', port: 0, tlsCert: pem.cert, tlsKey: pem.key, env, exitOnCompromise: false, proxyWorkerArgv: [worker] });
  }, 60_000);

  afterAll(async () => {
    await daemon?.close();
    await removeDir(dir);
  });

  it('answers over https through the workers, and limits wrong tokens at the primary', async () => {
    expect(daemon.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    expect(daemon.proxyWorkers?.pids()).toHaveLength(2);
    for (let i = 0; i < 4; i++) expect(await get(`${daemon.url}/api/health`, trust, '')).toBe(200);
    for (let i = 0; i < 10; i++) expect(await get(`${daemon.url}/api/runs`, trust, `wrong-${i}`)).toBe(401);
    expect(await get(`${daemon.url}/api/runs`, trust, 'another-wrong')).toBe(429);
  });
});
