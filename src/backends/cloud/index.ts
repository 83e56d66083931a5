/**
 * A cloud backend (issue 13): one `Compute` (AWS EC2 now, GCP next) paired with the SSH fleets' bootstrap. Once a VM
 * runs with an address it IS an SSH host: an internal SshBackend reaches it with the project's key, checks its host
 * key (stored under the instance id: clouds hand the same address to the next VM), installs and starts the agent,
 * carries the agent API and replica traffic over one connection, and reports reachability, with the same code as
 * SSH fleets. This class adds what comes before (offer → create → address → sshd up) and after (terminate).
 */
import { dirname, join } from 'node:path';
import type { Offer } from '../../core/api.js';
import { UserError } from '../../core/errors.js';
import type { ProvisionProgress, ProvisionStep, SshTarget } from '../../core/fleets/types.js';
import type { CloudInstanceRecord } from '../../core/state/schema.js';
import type { AgentConnection, Backend, ProvisionResult, Provisioner, Requirements } from '../backend.js';
import type { CreatesInstances } from '../composite.js';
import type { CloudInstance, CloudTarget, Compute } from '../compute.js';
import { SshBackend, type SshBackendOptions } from '../ssh/index.js';
import { KnownHosts } from '../ssh/known-hosts.js';
import { TokenStore } from '../ssh/tokens.js';
import { createOnFirstOffer, MAX_OFFERS_TRIED } from './create.js';
import { instanceStatus, type CloudInstanceStatus } from './instance-state.js';
import { ensureProjectKey, projectKeyPath, type ProjectKey } from './project-key.js';
import { realScheduler, retryUntilSsh, waitForAddress, type Scheduler } from './wait.js';

export type { CloudInstanceStatus } from './instance-state.js';

export interface CloudBackendOptions extends Pick<SshBackendOptions, 'agentBinary' | 'agentPort' | 'remoteDir' | 'version' | 'onReachability' | 'env' | 'files'> {
  compute: Compute;
  /** DSTACK_HOME/server/known_hosts; cloud entries are keyed by instance id. */
  knownHostsPath: string;
  /** Share the SSH fleets' KnownHosts of the same file (one write queue per file). */
  knownHosts?: KnownHosts;
  /** DSTACK_HOME/server/ssh: project keys under projects/<project>/, agent tokens under <kind>/. Default: beside known_hosts. */
  sshDir?: string;
  log: (line: string) => void;
  scheduler?: Scheduler;
  /** Bounds of the waits for a new VM: its address, then its sshd (default 10 minutes each). */
  addressTimeoutMs?: number;
  sshTimeoutMs?: number;
  /** describeInstance polling while waiting for the address (default 2 s). */
  pollMs?: number;
  /** First delay between SSH tries (default 1 s, doubling to 15 s). */
  sshBackoffMs?: number;
  /** Stopping replicas before terminating is best effort within this bound (default 30 s). */
  teardownSshMs?: number;
  maxOffersTried?: number;
}

const MINUTES = 60_000;

export class CloudBackend implements Backend, Provisioner<CloudTarget>, CreatesInstances {
  readonly kind: string;
  readonly createsInstances = true;
  readonly compute: Compute;
  private readonly ssh: SshBackend;
  private readonly knownHosts: KnownHosts;
  private readonly tokens: TokenStore;
  private readonly sshDir: string;
  private readonly scheduler: Scheduler;
  private targets = new Map<string, CloudTarget>();
  /** One key generation per project, shared by instances provisioned at once. */
  private readonly keys = new Map<string, Promise<ProjectKey>>();

  constructor(private readonly o: CloudBackendOptions) {
    this.compute = o.compute;
    this.kind = o.compute.kind;
    this.sshDir = o.sshDir ?? join(dirname(o.knownHostsPath), 'ssh');
    this.knownHosts = o.knownHosts ?? new KnownHosts(o.knownHostsPath, o.files);
    this.scheduler = o.scheduler ?? realScheduler;
    const stateDir = join(this.sshDir, encodeURIComponent(this.kind));
    this.tokens = new TokenStore(stateDir, o.files);
    const { knownHostsPath, log, agentBinary, agentPort, remoteDir, version, onReachability, env, files } = o;
    this.ssh = new SshBackend({
      ...{ knownHostsPath, log, agentBinary, agentPort, remoteDir, version, onReachability, env, ...(files ? { files } : {}) },
      knownHosts: this.knownHosts,
      stateDir,
      clock: this.scheduler.clock,
    });
  }

  /** The instances of this backend in state; those with an address are kept connected, the others dropped. */
  setTargets(targets: CloudTarget[]): void {
    this.targets = new Map(targets.map((t) => [t.instance, this.freshest(t)]));
    this.ssh.setTargets([...this.targets.values()].flatMap((t) => this.sshTarget(t) ?? []));
  }

  instances(): string[] {
    return this.ssh.instances();
  }

  /** Catalog offers: capacity this backend can create, so a run's plan shows them before any instance exists. */
  offers(requirements: Requirements): Promise<Offer[]> {
    // Spot and on-demand both: the fleets' and the run's `spot_policy` narrow them (core/runs/offers.ts).
    return this.compute.offers({ requirements, spotPolicy: 'auto' });
  }

  ensureAgent(instance: string): Promise<AgentConnection> {
    const target = this.targets.get(instance);
    if (target && !this.sshTarget(target)) {
      return Promise.reject(new UserError('INSTANCE_NOT_READY', `${this.kind} instance ${instance} has no address yet`));
    }
    return this.ssh.ensureAgent(instance);
  }

  reset(instance: string): void {
    this.ssh.reset(instance);
  }

  /**
   * Creates the VM (unless `target.cloud` says it exists: a restart resumes it), waits for its address and sshd, and
   * bootstraps it over SSH. A failure after the VM exists terminates it (it is of no use and costs money); an abort
   * (fleet deleted, daemon stopping) leaves it to the caller, who holds its record.
   */
  async provision(target: CloudTarget, onProgress: (p: ProvisionProgress) => void, signal?: AbortSignal): Promise<ProvisionResult> {
    const progress = (step: ProvisionStep, message: string, cloud?: CloudInstanceRecord) =>
      onProgress({ instance: target.instance, step, message, ...(cloud ? { cloud } : {}) });
    const key = await this.projectKey(target.project);
    let cloud = target.cloud;
    this.remember(target);
    if (!cloud) {
      cloud = await createOnFirstOffer({
        compute: this.compute,
        target,
        sshPublicKey: key.publicKey,
        onUnavailable: (reason) => progress('offer', reason),
        maxOffersTried: this.o.maxOffersTried ?? MAX_OFFERS_TRIED,
        ...(signal ? { signal } : {}),
      });
      this.remember({ ...target, cloud });
      progress('create', `created ${describeInstance(cloud)}`, cloud);
    }
    try {
      return await this.bootstrap({ ...target, cloud }, progress, onProgress, signal);
    } catch (e) {
      if (signal?.aborted) throw e;
      progress('create', `terminating ${cloud.instanceId}: provisioning failed`);
      await this.takeOut({ ...target, cloud }, false).catch((t: unknown) => this.o.log(`${this.kind}: could not terminate ${cloud.instanceId}: ${(t as Error).message}`));
      throw e;
    }
  }

  private async bootstrap(
    target: CloudTarget & { cloud: CloudInstance },
    progress: (step: ProvisionStep, message: string, cloud?: CloudInstanceRecord) => void,
    onProgress: (p: ProvisionProgress) => void,
    signal?: AbortSignal,
  ): Promise<ProvisionResult> {
    const cloud = await waitForAddress({
      compute: this.compute,
      instance: target.cloud,
      scheduler: this.scheduler,
      timeoutMs: this.o.addressTimeoutMs ?? 10 * MINUTES,
      pollMs: this.o.pollMs ?? 2_000,
      // The provider reports most VMs running within a second or two: look early, then every pollMs.
      firstPollMs: 250,
      ...(signal ? { signal } : {}),
    });
    const addressed = { ...target, cloud };
    this.remember(addressed);
    progress('address', `${cloud.instanceId} is running at ${cloud.hostname}`, cloud);
    const ssh = this.sshTarget(addressed);
    if (!ssh) throw new UserError('INSTANCE_NOT_READY', `${this.kind} instance ${cloud.instanceId} has no address`);
    const result = await retryUntilSsh(
      {
        what: `${cloud.instanceId} (${cloud.hostname})`,
        scheduler: this.scheduler,
        timeoutMs: this.o.sshTimeoutMs ?? 10 * MINUTES,
        backoffMs: this.o.sshBackoffMs ?? 1_000,
        maxBackoffMs: 15_000,
        onRetry: (message) => progress('connect', message),
        ...(signal ? { signal } : {}),
      },
      () => this.ssh.provision(ssh, onProgress, signal),
    );
    return { ...result, cloud };
  }

  /**
   * Takes the instance out: its replicas stopped if the VM still answers (best effort, bounded), the VM terminated
   * (idempotent), then its connection, agent token and host key forgotten. Terminating failures are thrown, so the
   * daemon keeps the instance `terminating` and tries again.
   */
  teardown(target: CloudTarget): Promise<void> {
    return this.takeOut(this.freshest(target), true);
  }

  /** What the provider says of the instance now: a spot interruption or a termination behind dstack's back. */
  async instanceStatus(cloud: CloudInstance): Promise<CloudInstanceStatus> {
    return instanceStatus(await this.compute.describeInstance(cloud));
  }

  async close(): Promise<void> {
    await this.ssh.close();
  }

  private async takeOut(target: CloudTarget, stopReplicas: boolean): Promise<void> {
    const { cloud } = target;
    if (cloud) {
      const ssh = stopReplicas ? this.sshTarget(target) : undefined;
      const now = ssh ? await this.compute.describeInstance(cloud).catch(() => undefined) : undefined;
      if (ssh && now?.state === 'running') await this.stopReplicas(ssh);
      await this.compute.terminateInstance(cloud);
      await this.knownHosts.forget(cloud.instanceId);
      this.o.log(`${this.kind}: terminated ${cloud.instanceId} (${target.instance})`);
    }
    this.targets.delete(target.instance);
    this.ssh.setTargets([...this.targets.values()].flatMap((t) => this.sshTarget(t) ?? []));
    await this.tokens.remove(target.instance);
  }

  /** The SSH teardown (replicas, agent, its files), cut short after teardownSshMs: the VM is terminated either way. */
  private async stopReplicas(ssh: SshTarget): Promise<void> {
    const timer = new AbortController();
    const bound = this.o.teardownSshMs ?? 30_000;
    const work = this.ssh.teardown(ssh).then(
      () => 'done',
      (e: unknown) => `failed (${(e as Error).message})`,
    );
    const outcome = await Promise.race([work, this.scheduler.sleep(bound, timer.signal).then(() => `cut short after ${bound / 1000} s`, () => 'done')]);
    timer.abort();
    if (outcome !== 'done') this.o.log(`${this.kind}: stopping the replicas of ${ssh.instance} before terminating it ${outcome}`);
  }

  private projectKey(project: string): Promise<ProjectKey> {
    let key = this.keys.get(project);
    if (!key) {
      key = ensureProjectKey(this.sshDir, project, this.o.files);
      this.keys.set(project, key);
      key.catch(() => this.keys.delete(project));
    }
    return key;
  }

  /** The host a VM with an address is, for the SSH code: the project's key, its host key under the instance id. */
  private sshTarget(t: CloudTarget): SshTarget | undefined {
    const c = t.cloud;
    if (!c?.hostname) return undefined;
    return {
      instance: t.instance,
      fleet: t.fleet,
      hostname: c.hostname,
      port: c.sshPort,
      user: c.user,
      identityFile: projectKeyPath(this.sshDir, t.project),
      ...(c.internalIp ? { internalIp: c.internalIp } : {}),
      hostKeyAlias: c.instanceId,
      blocks: 1,
    };
  }

  private remember(target: CloudTarget): void {
    this.targets.set(target.instance, target);
  }

  /**
   * The daemon's record may lag behind provisioning (it stores the address from the progress callback): for the
   * same VM, what provisioning learned wins, so a setTargets in between never drops a host being bootstrapped.
   */
  private freshest(t: CloudTarget): CloudTarget {
    const mine = this.targets.get(t.instance)?.cloud;
    if (!mine || (t.cloud && t.cloud.instanceId !== mine.instanceId)) return t;
    if (t.cloud?.hostname) return t;
    return { ...t, cloud: mine };
  }
}

/** `i-0abc (g5.xlarge, us-east-1a, spot, $0.4530/h)` */
function describeInstance(c: CloudInstance): string {
  return `${c.instanceId} (${c.instanceType}, ${c.zone ?? c.region}, ${c.spot ? 'spot' : 'on-demand'}, $${c.price.toFixed(4)}/h)`;
}
