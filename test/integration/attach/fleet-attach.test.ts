// dstack attach to a replica on an SSH fleet host (a namespace test host with its own sshd and dockerd): the daemon
// reaches the service port (published on the host's 127.0.0.1) and another container port (the container's address
// on the host's Docker network) as channels of its one SSH connection; nothing on the host listens beyond loopback
// for it. A host taken off the network answers HOST_UNREACHABLE. Needs root and `scripts/test-hosts.sh up 1`.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonClient } from '../../../src/core/client/daemon-client.js';
import { holdTestHosts, loadTestHosts, type TestHost } from '../../helpers/test-hosts.js';
import { buildAgent, isReady, removeDir, tempDir, waitFor } from '../daemon/harness.js';
import { hostContainers, link, startFleetDaemon, type FleetDaemon } from '../fleets/helpers.js';
import { daemonClient, httpOver } from './helpers.js';

const FLEET = 'attach-fleet';
const RUN = 'attach-fleet-svc';
let host: TestHost;
let dir: string;
let t: FleetDaemon;
let client: DaemonClient;

// The last test cuts the host's link: no other file may use the hosts meanwhile.
holdTestHosts();

beforeAll(async () => {
  host = loadTestHosts(1).hosts[0]!;
  dir = await tempDir('dstack-attach-fleet-');
  // A long host-loss window: the replica must stay where it is while its host is off the network.
  const agent = await buildAgent(dir);
  // The hosts install DSTACK_AGENT_BINARY: this source's agent, run by this machine's node (the namespace hosts share
  // its filesystem), since dist/bin/dstack-agent may predate it (containers' addresses come from the agent).
  const wrapper = join(dir, 'dstack-agent');
  await writeFile(wrapper, `#!/bin/sh\nexec ${process.execPath} ${agent} "$@"\n`, { mode: 0o755 });
  process.env.DSTACK_AGENT_BINARY = wrapper;
  t = await startFleetDaemon(agent, 11_171, 120_000);
  client = daemonClient(t.daemon.url, t.api.token);
  await t.api.applyFleet({ type: 'fleet', name: FLEET, ssh_config: { user: host.user, hosts: [{ hostname: host.ip, identity_file: host.identityFile }] } });
  await waitFor('the host joined', async () => (await t.api.fleet(FLEET)).instances.every((i) => i.status === 'idle'), 120_000);
  await t.api.apply({
    type: 'service',
    name: RUN,
    image: 'dstack-test/node:latest',
    commands: ['PORT=9000 ECHO_NAME=side node /srv/http-echo.mjs & node /srv/http-echo.mjs'],
    env: { PORT: '8000', ECHO_NAME: 'main' },
    port: 8000,
    stop_duration: 1,
    resources: { cpu: '1..', memory: '0.25GB..', disk: '1GB..' },
  });
  await waitFor(`${RUN} ready`, async () => isReady(await t.api.run(RUN)), 120_000);
}, 300_000);

afterAll(async () => {
  if (host) link(host, 'up');
  await client?.close();
  if (t) {
    await t.api.stop(RUN, true).catch(() => undefined);
    await waitFor('run stopped', async () => (await t.api.run(RUN)).status === 'terminated', 60_000).catch(() => undefined);
    await t.api.fleetCall('DELETE', `/api/fleets/${FLEET}?force=1`).catch(() => undefined);
    await waitFor('fleet cleanup', async () => (await t.api.fleet(FLEET)).status === 'terminated', 60_000).catch(() => undefined);
    await t.close();
  }
  if (dir) await removeDir(dir);
}, 180_000);

describe('attach on an SSH fleet host', () => {
  it('the replica runs on the host, which publishes only the service port, on its loopback', async () => {
    const info = await client.attachInfo(RUN);
    expect(info).toMatchObject({ servicePort: 8000, replica: { num: 0, status: 'running', backend: 'ssh' } });
    const [container] = await hostContainers(host, RUN);
    expect(container?.Ports.filter((p) => p.PublicPort !== undefined).map((p) => [p.IP, p.PrivatePort])).toEqual([['127.0.0.1', 8000]]);
  });

  it('tunnels over the SSH connection to the service port and to an unpublished container port', async () => {
    expect(JSON.parse((await httpOver(await client.openAttach(RUN, 0, 8000), '/health')).body)).toEqual({ status: 'ok', name: 'main' });
    await waitFor('the side server', async () => (await httpOver(await client.openAttach(RUN, 0, 9000), '/health').catch(() => undefined))?.status === 200, 30_000);
    expect(JSON.parse((await httpOver(await client.openAttach(RUN, 0, 9000), '/health')).body).name).toBe('side');
  });

  it('a port nothing listens on is PORT_NOT_LISTENING; the next connection works', async () => {
    await expect(client.openAttach(RUN, 0, 9999)).rejects.toMatchObject({ code: 'PORT_NOT_LISTENING', status: 502 });
    expect((await httpOver(await client.openAttach(RUN, 0, 8000), '/again')).status).toBe(200);
  });

  it('a host off the network is HOST_UNREACHABLE', async () => {
    link(host, 'down');
    try {
      await expect(client.openAttach(RUN, 0, 8000)).rejects.toMatchObject({ code: 'HOST_UNREACHABLE', status: 503 });
    } finally {
      link(host, 'up');
    }
  }, 120_000);
});
