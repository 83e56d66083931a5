import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Offer } from '../../core/api.js';
import { UserError } from '../../core/errors.js';
import type { ProvisionProgress } from '../../core/fleets/types.js';
import { ANY_REQUIREMENTS } from '../../core/runs/requirements.js';
import { OfferUnavailableError, type CloudInstance, type CloudTarget, type Compute, type CreateInstanceRequest } from '../compute.js';
import { CloudBackend } from './index.js';
import type { Scheduler } from './wait.js';

type Described = Awaited<ReturnType<Compute['describeInstance']>>;

/** Our own Compute: offers as given, createInstance failing per instance type, describe answers in sequence. */
class FakeCompute implements Compute {
  readonly kind = 'aws';
  readonly created: CreateInstanceRequest[] = [];
  readonly terminated: string[] = [];
  readonly offerCalls: unknown[] = [];
  failures = new Map<string, Error>();
  /** What describeInstance answers, one per call; the last one repeats. */
  described: Described[] = [{ state: 'running', hostname: '127.0.0.1' }];
  terminateError: Error | undefined;
  sshPort = 22;

  constructor(private readonly list: Offer[]) {}

  async offers(filters: unknown): Promise<Offer[]> {
    this.offerCalls.push(filters);
    return this.list;
  }
  async createInstance(req: CreateInstanceRequest): Promise<CloudInstance> {
    this.created.push(req);
    const failure = this.failures.get(req.offer.instanceType);
    if (failure) throw failure;
    const id = `i-${String(this.created.length).padStart(4, '0')}`;
    return { instanceId: id, region: req.offer.region, zone: `${req.offer.region}a`, instanceType: req.offer.instanceType, spot: req.offer.spot, price: req.offer.price, user: 'ubuntu', sshPort: this.sshPort };
  }
  async describeInstance(): Promise<Described> {
    return this.described.length > 1 ? this.described.shift() : this.described[0];
  }
  async terminateInstance(instance: Pick<CloudInstance, 'instanceId'>): Promise<void> {
    if (this.terminateError) throw this.terminateError;
    this.terminated.push(instance.instanceId);
  }
  async listTagged() {
    return [];
  }
}

const offer = (instanceType: string, spot = false, price = 1): Offer => ({
  backend: 'aws',
  region: 'us-east-1',
  instanceType,
  resources: { cpus: 4, memoryBytes: 16 * 2 ** 30, diskBytes: 0, gpus: [], arch: 'x86' },
  spot,
  price,
  availability: 'available',
});

/** Time passes only when the code sleeps: deadlines are reached in a few steps, without waiting. */
function fakeScheduler(): Scheduler & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    clock: () => now,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      slept.push(ms);
      now += ms;
    },
  };
}

/** A loopback port nothing listens on: SSH to it is refused at once, like a VM whose sshd has not started. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

let home: string;
let scheduler: ReturnType<typeof fakeScheduler>;
const backends: CloudBackend[] = [];
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'cloud-backend-'));
  scheduler = fakeScheduler();
});
afterEach(async () => {
  for (const b of backends.splice(0)) await b.close();
  await rm(home, { recursive: true, force: true });
});

function backend(compute: Compute, extra: Partial<ConstructorParameters<typeof CloudBackend>[0]> = {}): CloudBackend {
  const b = new CloudBackend({ compute, knownHostsPath: path.join(home, 'server', 'known_hosts'), log: () => {}, scheduler, sshTimeoutMs: 20_000, ...extra });
  backends.push(b);
  return b;
}

const target = (extra: Partial<CloudTarget> = {}): CloudTarget => ({
  instance: 'gpu-0',
  fleet: 'gpu',
  project: 'main',
  filters: { requirements: ANY_REQUIREMENTS, spotPolicy: 'auto', maxPrice: 2 },
  diskGiB: 100,
  reservation: 'cr-0123',
  ...extra,
});

function recorder(): { steps: ProvisionProgress[]; on: (p: ProvisionProgress) => void; lines: () => string[] } {
  const steps: ProvisionProgress[] = [];
  return { steps, on: (p) => steps.push(p), lines: () => steps.map((p) => `${p.step}: ${p.message}`) };
}

describe('CloudBackend provisioning', () => {
  it('tries every offer in order, shows why each was unavailable, and fails with all the reasons when none is left', async () => {
    const compute = new FakeCompute([offer('g5.xlarge', true, 0.4), offer('g5.xlarge'), offer('g6.xlarge')]);
    compute.failures.set('g5.xlarge', new OfferUnavailableError('no_capacity', 'InsufficientInstanceCapacity', 'no capacity in us-east-1a, us-east-1b'));
    compute.failures.set('g6.xlarge', new OfferUnavailableError('no_quota', 'VcpuLimitExceeded', 'vCPU quota'));
    const progress = recorder();
    const error = await backend(compute).provision(target(), progress.on).catch((e: unknown) => e);
    const reasons = [
      'aws us-east-1 g5.xlarge (spot): no capacity (InsufficientInstanceCapacity)',
      'aws us-east-1 g5.xlarge: no capacity (InsufficientInstanceCapacity)',
      'aws us-east-1 g6.xlarge: no quota (VcpuLimitExceeded)',
    ];
    expect(progress.lines()).toEqual(reasons.map((r) => `offer: ${r}`));
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({ code: 'NO_CAPACITY', message: `gpu-0: none of all 3 offers could be created: ${reasons.join('; ')}` });
    expect(compute.offerCalls).toEqual([target().filters]);
    const pub = (await readFile(path.join(home, 'server', 'ssh', 'projects', 'main', 'id_ed25519.pub'), 'utf8')).trim();
    expect(compute.created.map((r) => [r.offer.instanceType, r.offer.spot, r.sshPublicKey, r.maxPrice, r.reservation, r.diskGiB, r.instanceName, r.fleet])).toEqual([
      ['g5.xlarge', true, pub, 2, 'cr-0123', 100, 'gpu-0', 'gpu'],
      ['g5.xlarge', false, pub, 2, 'cr-0123', 100, 'gpu-0', 'gpu'],
      ['g6.xlarge', false, pub, 2, 'cr-0123', 100, 'gpu-0', 'gpu'],
    ]);
    expect(compute.terminated).toEqual([]);
  });

  it('stops at an error that is not about the offer (credentials), without trying the others', async () => {
    const compute = new FakeCompute([offer('g5.xlarge'), offer('g6.xlarge')]);
    compute.failures.set('g5.xlarge', new UserError('AWS_CREDENTIALS_INVALID', 'refused'));
    await expect(backend(compute).provision(target(), () => {})).rejects.toMatchObject({ code: 'AWS_CREDENTIALS_INVALID' });
    expect(compute.created).toHaveLength(1);
  });

  it('tries at most maxOffersTried offers and says how many there were', async () => {
    const compute = new FakeCompute([offer('a'), offer('b'), offer('c')]);
    for (const t of ['a', 'b', 'c']) compute.failures.set(t, new OfferUnavailableError('no_capacity', 'InsufficientInstanceCapacity', 'none'));
    await expect(backend(compute, { maxOffersTried: 2 }).provision(target(), () => {})).rejects.toThrow('none of the first 2 of 3 offers could be created');
    expect(compute.created).toHaveLength(2);
  });

  it('reports the VM the moment it exists, then its address; a VM whose sshd never answers is retried, then terminated', async () => {
    const compute = new FakeCompute([offer('g5.xlarge', true)]);
    compute.sshPort = await closedPort();
    compute.described = [{ state: 'pending' }, { state: 'pending', hostname: '10.0.0.9', internalIp: '10.0.0.9' }, { state: 'running', hostname: '127.0.0.1', internalIp: '10.0.0.9' }];
    const progress = recorder();
    const error = await backend(compute, { pollMs: 2_000 }).provision(target(), progress.on).catch((e: unknown) => e);
    const [create, address] = [progress.steps.find((p) => p.step === 'create'), progress.steps.find((p) => p.step === 'address')];
    expect(progress.steps.slice(0, 2).map((p) => p.step)).toEqual(['create', 'address']);
    expect(create?.message).toBe('created i-0001 (g5.xlarge, us-east-1a, spot, $1.0000/h)');
    expect(create?.cloud).toMatchObject({ instanceId: 'i-0001', instanceType: 'g5.xlarge', region: 'us-east-1', spot: true });
    expect(create?.cloud?.hostname).toBeUndefined();
    // A pending VM's private address is not taken for its public one.
    expect(address?.cloud).toMatchObject({ instanceId: 'i-0001', hostname: '127.0.0.1', internalIp: '10.0.0.9' });
    expect(progress.lines().filter((l) => l.startsWith('connect: sshd of i-0001 (127.0.0.1) is not ready (SSH_UNREACHABLE)')).length).toBeGreaterThan(1);
    expect(progress.lines().at(-1)).toBe('create: terminating i-0001: provisioning failed');
    expect(error).toMatchObject({ code: 'SSH_UNREACHABLE', message: expect.stringContaining('i-0001 (127.0.0.1) did not accept SSH within 20 s') });
    expect(compute.terminated).toEqual(['i-0001']);
    // Two address polls (the first early: most VMs run within a second), then the SSH backoff doubling.
    expect(scheduler.slept.slice(0, 5)).toEqual([250, 500, 1_000, 2_000, 4_000]);
  });

  it('fails naming the instance when it is terminated while waiting for its address (a spot interruption)', async () => {
    const compute = new FakeCompute([offer('g5.xlarge', true)]);
    compute.described = [{ state: 'pending' }, { state: 'terminated', stateReason: 'Server.SpotInstanceTermination' }];
    const error = await backend(compute).provision(target(), () => {}).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'INSTANCE_TERMINATED',
      message: 'aws instance i-0001 was terminated before it became reachable (Server.SpotInstanceTermination)',
      hint: expect.stringContaining('Spot capacity'),
    });
    expect(compute.terminated).toEqual(['i-0001']);
  });

  it('gives up on an address after addressTimeoutMs, naming the instance and terminating it', async () => {
    const compute = new FakeCompute([offer('g5.xlarge')]);
    compute.described = [{ state: 'pending' }];
    const error = await backend(compute, { addressTimeoutMs: 60_000, pollMs: 5_000 }).provision(target(), () => {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INSTANCE_NO_ADDRESS', message: 'aws instance i-0001 is still pending without an address after 60 s' });
    // 250 ms doubling up to pollMs (7.75 s in five polls), then every 5 s until 60 s have passed.
    expect(scheduler.slept).toEqual([250, 500, 1_000, 2_000, 4_000, ...Array<number>(11).fill(5_000)]);
    expect(compute.terminated).toEqual(['i-0001']);
  });

  it('an abort (fleet deleted, daemon stopping) stops waiting and leaves the VM to the caller, who has its record', async () => {
    const compute = new FakeCompute([offer('g5.xlarge')]);
    compute.described = [{ state: 'pending' }];
    const controller = new AbortController();
    const progress: ProvisionProgress[] = [];
    const error = await backend(compute)
      .provision(target(), (p) => {
        progress.push(p);
        if (p.step === 'create') controller.abort(new Error('fleet deleted'));
      }, controller.signal)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'fleet deleted' });
    expect(progress.map((p) => p.cloud?.instanceId)).toEqual(['i-0001']);
    expect(compute.terminated).toEqual([]);
  });

  it('resumes from target.cloud (a restart mid-provisioning) without asking for offers or creating another VM', async () => {
    const compute = new FakeCompute([offer('g5.xlarge')]);
    compute.described = [{ state: 'terminated', stateReason: 'Client.UserInitiatedShutdown' }];
    const cloud: CloudInstance = { instanceId: 'i-0777', region: 'us-east-1', instanceType: 'g5.xlarge', spot: false, price: 1, user: 'ubuntu', sshPort: 22 };
    await expect(backend(compute).provision(target({ cloud }), () => {})).rejects.toMatchObject({ code: 'INSTANCE_TERMINATED' });
    expect([compute.offerCalls, compute.created]).toEqual([[], []]);
  });
});

describe('CloudBackend instances', () => {
  const cloud = (id: string, hostname?: string): CloudInstance => ({
    instanceId: id,
    region: 'us-east-1',
    instanceType: 'g5.xlarge',
    spot: true,
    price: 1,
    user: 'ubuntu',
    sshPort: 22,
    ...(hostname ? { hostname } : {}),
  });

  it('connects only the targets with an address; one without is not ready', async () => {
    const b = backend(new FakeCompute([]));
    b.setTargets([target({ instance: 'gpu-0', cloud: cloud('i-1', '10.77.0.250') }), target({ instance: 'gpu-1', cloud: cloud('i-2') }), target({ instance: 'gpu-2' })]);
    expect(b.instances()).toEqual(['gpu-0']);
    await expect(b.ensureAgent('gpu-1')).rejects.toMatchObject({ code: 'INSTANCE_NOT_READY' });
    expect(b.kind).toBe('aws');
  });

  it('teardown terminates the VM, forgets its host key and agent token, and keeps other entries', async () => {
    const compute = new FakeCompute([]);
    const b = backend(compute);
    const knownHosts = path.join(home, 'server', 'known_hosts');
    const token = path.join(home, 'server', 'ssh', 'aws', 'gpu-0.token');
    await mkdir(path.dirname(token), { recursive: true });
    await writeFile(knownHosts, 'i-1 ssh-ed25519 AAAA1\ni-2 ssh-ed25519 AAAA2\n10.77.0.11 ssh-ed25519 AAAA3\n');
    await writeFile(token, 'secret\n');
    b.setTargets([target({ cloud: cloud('i-1') })]);
    await b.teardown(target({ cloud: cloud('i-1') }));
    expect(compute.terminated).toEqual(['i-1']);
    expect(await readFile(knownHosts, 'utf8')).toBe('i-2 ssh-ed25519 AAAA2\n10.77.0.11 ssh-ed25519 AAAA3\n');
    await expect(stat(token)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a teardown whose terminate fails throws, so the instance stays terminating and is tried again', async () => {
    const compute = new FakeCompute([]);
    compute.terminateError = new Error('RequestLimitExceeded');
    await expect(backend(compute).teardown(target({ cloud: cloud('i-1') }))).rejects.toThrow('RequestLimitExceeded');
  });

  it('tells a spot interruption from a termination behind dstack\'s back, and offers the catalog', async () => {
    const compute = new FakeCompute([offer('g5.xlarge')]);
    const b = backend(compute);
    compute.described = [{ state: 'terminated', stateReason: 'Server.SpotInstanceTermination' }, undefined, { state: 'running', hostname: '1.2.3.4' }];
    expect(await b.instanceStatus(cloud('i-1'))).toEqual({ state: 'terminated', stateReason: 'Server.SpotInstanceTermination', terminationReason: 'interrupted' });
    expect(await b.instanceStatus(cloud('i-1'))).toEqual({ state: 'not-found', terminationReason: 'terminated_externally' });
    expect(await b.instanceStatus(cloud('i-1'))).toEqual({ state: 'running' });
    expect((await b.offers(ANY_REQUIREMENTS)).map((o) => o.instanceType)).toEqual(['g5.xlarge']);
    // Both kinds: the fleets' and the run's spot_policy narrow them afterwards (core/runs/offers.ts).
    expect(compute.offerCalls).toEqual([{ requirements: ANY_REQUIREMENTS, spotPolicy: 'auto' }]);
  });
});
