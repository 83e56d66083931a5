// dstack attach through the real daemon to replicas on the local backend (real agent, test dockerd; then plain
// processes without Docker): the service port (published on 127.0.0.1) and another container port (reached at the
// container's address on the engine's network), a port nothing listens on, unknown runs/replicas, a wrong token,
// and the CLI's session forwarding a local port through it all.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttachSession } from '../../../src/core/client/attach-session.js';
import type { DaemonClient } from '../../../src/core/client/daemon-client.js';
import { freePort } from '../../helpers/net.js';
import {
  ROOT, buildAgent, isReady, removeContainersOf, removeDir, requireDocker, startTestDaemon, tempDir, waitFor, type TestDaemon,
} from '../daemon/harness.js';
import { daemonClient, getLocal, httpOver } from './helpers.js';

const NAME = `attach-${process.pid}`;

describe('attach on the local backend (Docker)', () => {
  let dir: string;
  let t: TestDaemon;
  let client: DaemonClient;

  beforeAll(async () => {
    await requireDocker(['dstack-test/node:latest']);
    dir = await tempDir('dstack-attach-');
    t = await startTestDaemon(await buildAgent(dir), {}, join(dir, 'home'));
    client = daemonClient(t.daemon.url, t.token);
    await t.api.apply({
      type: 'service',
      name: NAME,
      image: 'dstack-test/node:latest',
      // A second server on 9000, which is not published: only attach reaches it.
      commands: ['PORT=9000 ECHO_NAME=side node /srv/http-echo.mjs & node /srv/http-echo.mjs'],
      env: { PORT: '8000', ECHO_NAME: 'main' },
      port: 8000,
      stop_duration: 1,
    });
    await waitFor(`${NAME} ready`, async () => isReady(await t.api.run(NAME)), 90_000);
  }, 180_000);

  afterAll(async () => {
    await client?.close();
    await t?.close();
    await removeContainersOf(NAME);
    if (dir) await removeDir(dir);
  });

  it('names the replica and the service port', async () => {
    expect(await client.attachInfo(NAME)).toMatchObject({ run: NAME, runStatus: 'running', servicePort: 8000, replica: { num: 0, status: 'running', instance: 'local' } });
  });

  it('tunnels to the service port and to an unpublished container port', async () => {
    const main = await httpOver(await client.openAttach(NAME, 0, 8000), '/health');
    expect(main).toEqual({ status: 200, body: JSON.stringify({ status: 'ok', name: 'main' }) });
    await waitFor('the side server', async () => (await httpOver(await client.openAttach(NAME, 0, 9000), '/health').catch(() => undefined))?.status === 200, 30_000);
    expect(JSON.parse((await httpOver(await client.openAttach(NAME, 0, 9000), '/health')).body)).toEqual({ status: 'ok', name: 'side' });
  });

  it('a port nothing listens on, an unknown replica or run, a wrong token: typed errors', async () => {
    await expect(client.openAttach(NAME, 0, 9999)).rejects.toMatchObject({ code: 'PORT_NOT_LISTENING', status: 502, message: `Nothing listens on port 9999 of the replica 0 of ${NAME}` });
    await expect(client.openAttach(NAME, 3, 8000)).rejects.toMatchObject({ code: 'REPLICA_NOT_FOUND', status: 404 });
    await expect(client.attachInfo(NAME, 3)).rejects.toMatchObject({ code: 'REPLICA_NOT_FOUND', hint: expect.stringContaining('Its replicas: 0') });
    await expect(client.openAttach('no-such-run', 0, 8000)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND', status: 404 });
    const stranger = daemonClient(t.daemon.url, 'wrong-token');
    await expect(stranger.openAttach(NAME, 0, 8000)).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    await stranger.close();
  });

  it('the CLI session serves the replica on local ports; a failed connection leaves the others working', async () => {
    const errors: string[] = [];
    const session = await startAttachSession({
      open: (remote) => client.openAttach(NAME, 0, remote),
      mappings: [{ local: 0, remote: 8000 }, { local: 0, remote: 9000 }, { local: 0, remote: 9999 }],
      onConnectionError: (port, e) => errors.push(`${port.remote}: ${(e as { code?: string }).code}`),
    });
    try {
      const [service, side, dead] = session.ports.map((p) => p.local);
      expect((await getLocal(service!, '/hello')).status).toBe(200);
      expect(JSON.parse((await getLocal(side!, '/health')).body).name).toBe('side');
      await expect(getLocal(dead!, '/')).rejects.toThrow();
      expect(errors).toEqual(['9999: PORT_NOT_LISTENING']);
      expect(JSON.parse((await getLocal(service!, '/after')).body).path).toBe('/after');
    } finally {
      await session.close();
    }
  });

  it('a stopped run is refused', async () => {
    await t.api.stop(NAME);
    await waitFor('terminated', async () => (await t.api.run(NAME)).status === 'terminated', 60_000);
    await expect(client.openAttach(NAME, 0, 8000)).rejects.toMatchObject({ code: 'RUN_FINISHED', status: 409 });
  });
});

describe('attach on the local backend without Docker (process runtime)', () => {
  let dir: string;
  let t: TestDaemon;
  let client: DaemonClient;
  const name = `attach-proc-${process.pid}`;
  let ports: [number, number];

  beforeAll(async () => {
    dir = await tempDir('dstack-attach-proc-');
    ports = [await freePort(), await freePort()];
    t = await startTestDaemon(await buildAgent(dir), { DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` }, join(dir, 'home'));
    client = daemonClient(t.daemon.url, t.token);
    const echo = join(ROOT, 'test/fixtures/servers/http-echo.mjs');
    await t.api.apply({
      type: 'service',
      name,
      commands: [`PORT=${ports[1]} ECHO_NAME=side node ${echo} & node ${echo}`],
      env: { PORT: String(ports[0]), ECHO_NAME: 'main' },
      port: ports[0],
      stop_duration: 1,
    });
    await waitFor(`${name} ready`, async () => isReady(await t.api.run(name)), 60_000);
  }, 120_000);

  afterAll(async () => {
    await t?.api.stop(name).catch(() => undefined);
    await waitFor('terminated', async () => (await t.api.run(name)).status === 'terminated', 30_000).catch(() => undefined);
    await client?.close();
    await t?.close();
    if (dir) await removeDir(dir);
  });

  it('reaches the service port and another port of the process on the host', async () => {
    expect(JSON.parse((await httpOver(await client.openAttach(name, 0, ports[0]), '/health')).body).name).toBe('main');
    await waitFor('the side server', async () => (await httpOver(await client.openAttach(name, 0, ports[1]), '/health').catch(() => undefined))?.status === 200, 30_000);
  });
});
