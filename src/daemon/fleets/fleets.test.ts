import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import type { ProvisionProgress, SshTarget } from '../../core/fleets/index.js';
import type { Provisioner } from '../../backends/backend.js';
import type { HostInfo } from '../../core/model/agent-api.js';
import { emptyState, type RunRecord } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';
import { createJsonStateStore } from '../state/json-store.js';
import { Reachability } from './reachability.js';
import { RunEvents } from '../api/events.js';
import { FleetManager, parseFleetConfig } from './fleets.js';

const HOST: HostInfo = {
  hostname: 'h', arch: 'x86_64', cpus: 4, memoryBytes: 8 * 2 ** 30, diskFreeBytes: 1e11, diskTotalBytes: 2e11, gpus: [],
  addresses: [], runtime: 'docker', docker: { available: true },
};

/** Our own `Provisioner` as a fake: provisioning of a host either succeeds or fails with `failures[hostname]`. */
class FakeSsh implements Provisioner {
  readonly kind = 'ssh';
  targets: string[] = [];
  torn: string[] = [];
  readonly pending = new Map<string, () => void>();
  constructor(readonly failures: Record<string, UserError> = {}) {}
  setTargets(t: SshTarget[]): void {
    this.targets = t.map((x) => x.instance);
  }
  async provision(t: SshTarget, onProgress: (p: ProvisionProgress) => void) {
    onProgress({ instance: t.instance, step: 'connect', message: `connecting to ${t.hostname}` });
    await new Promise<void>((resolve) => this.pending.set(t.instance, resolve));
    const failure = this.failures[t.hostname];
    if (failure) throw failure;
    return { host: HOST, agentVersion: '0.1.0', fingerprint: 'SHA256:x' };
  }
  async teardown(t: SshTarget): Promise<void> {
    this.torn.push(t.instance);
  }
  /** Lets every provisioning in flight finish, then waits for its handlers. */
  async finish(): Promise<void> {
    for (const [name, resolve] of this.pending) (this.pending.delete(name), resolve());
    await new Promise((r) => setTimeout(r, 10));
  }
}

let dir: string;
let store: StateStore;
let ssh: FakeSsh;
let fleets: FleetManager;
let removed: string[];

const config = (hosts: string[]) => ({ type: 'fleet', name: 'fl', ssh_config: { user: 'root', identity_file: '/k', hosts } });
const liveRun = (instance: string): RunRecord =>
  ({
    id: 'r', name: 'svc', project: 'main', status: 'running',
    replicas: [{ id: 'svc-0-0', num: 0, submission: 0, deployment: 0, status: 'running', ready: true, probes: [], submittedAt: 0, instance }],
  }) as unknown as RunRecord;

function manager(failures: Record<string, UserError> = {}) {
  ssh = new FakeSsh(failures);
  removed = [];
  fleets = new FleetManager({
    store, ssh, events: new RunEvents(), parseFleet: parseFleetConfig, project: 'main', clock: () => 1000, log: () => {},
    onCapacity: () => {}, onInstanceRemoved: (i) => removed.push(i), homeDir: '/home/u',
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleets-unit-'));
  store = createJsonStateStore(join(dir, 'state.json'), emptyState());
  manager();
});
afterEach(async () => {
  await store.flush();
  await rm(dir, { recursive: true, force: true });
});

describe('FleetManager', () => {
  it('answers apply at once, then reports each host: the failed one with its error, the others idle', async () => {
    manager({ b: new UserError('SSH_AUTH_FAILED', 'SSH authentication failed for root@b') });
    const view = await fleets.apply({ config: config(['a', 'b']), force: false });
    expect(view.status).toBe('submitted');
    expect(view.instances.map((i) => [i.name, i.status, i.progress])).toEqual([['fl-0', 'provisioning', 'connecting to a'], ['fl-1', 'provisioning', 'connecting to b']]);
    expect(ssh.targets).toEqual(['fl-0', 'fl-1']);
    await ssh.finish();
    const after = fleets.get('fl');
    expect(after.status).toBe('active');
    expect(after.instances.map((i) => [i.status, i.error])).toEqual([['idle', undefined], ['terminated', 'SSH_AUTH_FAILED: SSH authentication failed for root@b']]);
    expect(after.instances[0]).toMatchObject({ blocks: 1, busyBlocks: 0, resources: { cpus: 4 } });
    // Only joined hosts keep a connection.
    expect(ssh.targets).toEqual(['fl-0']);
  });

  it('is failed when every host failed', async () => {
    manager({ a: new UserError('SSH_UNREACHABLE', 'a did not answer') });
    await fleets.apply({ config: config(['a']), force: false });
    await ssh.finish();
    expect(fleets.get('fl').status).toBe('failed');
  });

  it('plans a re-apply as host changes, retries failed hosts and tears removed ones down', async () => {
    manager({ b: new UserError('SSH_AUTH_FAILED', 'no') });
    await fleets.apply({ config: config(['a', 'b']), force: false });
    await ssh.finish();
    delete ssh.failures.b;
    const plan = await fleets.plan({ config: config(['b', 'c']) });
    expect(plan.action).toBe('update');
    expect(plan.hosts).toEqual([
      { host: 'root@b:22', instance: 'fl-1', action: 'add' },
      { host: 'root@c:22', instance: 'fl-2', action: 'add' },
      { host: 'root@a:22', instance: 'fl-0', action: 'remove' },
    ]);
    await fleets.apply({ config: config(['b', 'c']), force: false });
    await ssh.finish();
    expect(ssh.torn).toEqual(['fl-0']);
    expect(fleets.get('fl').instances.map((i) => [i.name, i.status])).toEqual([['fl-1', 'idle'], ['fl-2', 'idle']]);
  });

  it('refuses to delete a fleet whose hosts run replicas, naming the run; then deletes it when they are gone', async () => {
    await fleets.apply({ config: config(['a']), force: false });
    await ssh.finish();
    store.putRun(liveRun('fl-0'));
    expect(fleets.get('fl').instances[0]).toMatchObject({ status: 'busy', busyBlocks: 1 });
    expect(() => fleets.delete('fl', false)).toThrow(expect.objectContaining({ code: 'FLEET_IN_USE', message: expect.stringContaining('`svc`') }));
    for (const r of store.runs()) store.removeRun(r.id);
    expect(fleets.delete('fl', false).status).toBe('terminating');
    await ssh.finish();
    expect(ssh.torn).toEqual(['fl-0']);
    expect(removed).toEqual(['fl-0']);
    expect(fleets.get('fl')).toMatchObject({ status: 'terminated', instances: [] });
    // Once torn down, the backend keeps no connection to the host (else it would bring its agent back).
    expect(ssh.targets).toEqual([]);
    expect(fleets.list(false)).toEqual([]);
  });

  it('marks a host unreachable with the time loss began, and reachable again', async () => {
    await fleets.apply({ config: config(['a']), force: false });
    await ssh.finish();
    const reachability = new Reachability({ store, clock: () => 1000, log: () => {} });
    const heard: string[] = [];
    reachability.subscribe((instance, fleet) => heard.push(`${fleet}/${instance}`));
    reachability.set('fl-0', false, new Error('Keepalive timeout'));
    expect(store.instances()[0]).toMatchObject({ unreachable: true, unreachableSince: 1000 });
    expect(fleets.get('fl').instances[0]!.unreachable).toBe(true);
    reachability.set('fl-0', false);
    reachability.set('fl-0', true);
    expect(store.instances()[0]!.unreachable).toBe(false);
    expect(store.instances()[0]!.unreachableSince).toBeUndefined();
    expect(heard).toEqual(['fl/fl-0', 'fl/fl-0']);
  });

  it('names an unknown fleet and a configuration that is not a fleet', async () => {
    expect(() => fleets.get('nope')).toThrow(expect.objectContaining({ code: 'FLEET_NOT_FOUND' }));
    await expect(fleets.plan({ config: { type: 'service', port: 80, commands: ['x'] } })).rejects.toMatchObject({ code: 'NOT_A_FLEET' });
  });
});
