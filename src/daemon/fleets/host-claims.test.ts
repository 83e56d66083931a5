import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProvisionProgress, SshTarget } from '../../core/fleets/index.js';
import type { Provisioner } from '../../backends/backend.js';
import type { HostInfo } from '../../core/model/agent-api.js';
import { emptyState } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';
import { createJsonStateStore } from '../state/json-store.js';
import { RunEvents } from '../api/events.js';
import { FleetManager, parseFleetConfig } from './fleets.js';

const HOST: HostInfo = {
  hostname: 'h', arch: 'x86_64', cpus: 4, memoryBytes: 8 * 2 ** 30, diskFreeBytes: 1e11, diskTotalBytes: 2e11, gpus: [],
  addresses: [], runtime: 'docker', docker: { available: true },
};

/** Provisioning that always succeeds at once: what matters here is which hosts are let in. */
class JoiningSsh implements Provisioner {
  readonly kind = 'ssh';
  setTargets(_t: SshTarget[]): void {}
  async provision(t: SshTarget, onProgress: (p: ProvisionProgress) => void) {
    onProgress({ instance: t.instance, step: 'connect', message: `connecting to ${t.hostname}` });
    return { host: HOST, agentVersion: '0.1.0', fingerprint: 'SHA256:x' };
  }
  async teardown(): Promise<void> {}
}

let dir: string;
let store: StateStore;
const ssh = new JoiningSsh();
const manager = (project: string) =>
  new FleetManager({
    store, ssh, events: new RunEvents(), parseFleet: parseFleetConfig, project, defaultProject: 'main', clock: () => 1000, log: () => {},
    onCapacity: () => {}, onInstanceRemoved: () => {}, homeDir: '/home/u',
  });
const fleet = (name: string, hosts: (string | { hostname: string; port: number; user?: string })[]) => ({ type: 'fleet', name, ssh_config: { user: 'root', identity_file: '/k', hosts } });
const settle = () => new Promise((r) => setTimeout(r, 20));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'host-claims-'));
  store = createJsonStateStore(join(dir, 'state.json'), emptyState());
});
afterEach(async () => {
  await store.flush();
  await rm(dir, { recursive: true, force: true });
});

describe('one SSH host, one fleet', () => {
  it('refuses a host of another fleet of the same project by name, in plan and apply, and changes nothing', async () => {
    const main = manager('main');
    await main.apply({ config: fleet('fa', ['10.0.0.1']), force: false });
    await settle();
    const before = store.instances().map((i) => i.name);
    const expected = { code: 'HOST_IN_ANOTHER_FLEET', status: 409, message: 'fleet `fb`: host `10.0.0.1:22` already belongs to fleet `fa`' };
    await expect(main.plan({ config: fleet('fb', ['10.0.0.2', '10.0.0.1']) })).rejects.toMatchObject(expected);
    await expect(main.apply({ config: fleet('fb', ['10.0.0.2', '10.0.0.1']), force: false })).rejects.toMatchObject(expected);
    expect(store.instances().map((i) => i.name)).toEqual(before);
    expect(store.fleet('main', 'fb')).toBeUndefined();
  });

  it('refuses a host of another project without naming its fleet; another user on the same sshd is the same host', async () => {
    await manager('main').apply({ config: fleet('private-fleet', ['10.0.0.1']), force: false });
    await settle();
    const err = await manager('team').apply({ config: fleet('fb', [{ hostname: '10.0.0.1', port: 22, user: 'ubuntu' }]), force: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'HOST_IN_ANOTHER_FLEET', message: 'fleet `fb`: host `10.0.0.1:22` already belongs to a fleet of another project' });
    expect(String((err as Error).message) + String((err as { hint?: string }).hint)).not.toContain('private-fleet');
  });

  it('lets the same fleet be applied again, another port of the same address in, and a host back once its fleet is gone', async () => {
    const main = manager('main');
    await main.apply({ config: fleet('fa', ['10.0.0.1']), force: false });
    await settle();
    await expect(main.apply({ config: fleet('fa', ['10.0.0.1']), force: false })).resolves.toMatchObject({ name: 'fa' });
    await expect(main.apply({ config: fleet('fb', [{ hostname: '10.0.0.1', port: 2222 }]), force: false })).resolves.toMatchObject({ name: 'fb' });
    await main.delete('fa', false);
    await settle();
    for (const i of store.instances()) if (i.fleet === 'fa') expect(i.status).toBe('terminated');
    await expect(manager('team').apply({ config: fleet('fc', ['10.0.0.1']), force: false })).resolves.toMatchObject({ name: 'fc' });
  });
});
