/**
 * The SSH fleet backend (DESIGN.md §2, dstack-notes §5): the user's own hosts, each reached through ONE ssh2
 * connection that carries the agent API and every replica's traffic (HostLink + tunnelDispatcher). `provision`
 * brings a host in (host key, prerequisites, agent install/start, host info); `ensureAgent` reconnects after a
 * daemon restart from the fleet's targets and the token files alone; `teardown` takes a host out again.
 */
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { ClientChannel } from 'ssh2';
import type { Agent } from 'undici';
import type { Offer } from '../../core/api.js';
import { DstackError, InternalError, UserError } from '../../core/errors.js';
import type { ProvisionProgress, ProvisionStep, SshTarget } from '../../core/fleets/types.js';
import { type HostInfo } from '../../core/model/agent-api.js';
import { AGENT_DEFAULT_PORT } from '../../core/model/agent-constants.js';
import { AgentClient } from '../agent-client.js';
import type { AgentConnection, Backend, ProvisionResult, Provisioner, Requirements } from '../backend.js';
import { DSTACK_VERSION } from '../version.js';
import { AgentBinaryCache, findAgentBinary } from './agent-binary.js';
import { HostLink } from './host-link.js';
import { checkPrerequisites, installFiles, remoteLayout, startAgent, type InstallOptions } from './install.js';
import { KnownHosts } from './known-hosts.js';
import { sshOffer, type HostSnapshot } from './offers.js';
import { exec, shq } from './remote.js';
import { TokenStore } from './tokens.js';
import type { HomeFiles } from './home-files.js';
import { ChannelSocket, openChannel, tunnelDispatcher } from './tunnel.js';

export interface SshBackendOptions {
  /** DSTACK_HOME/server/known_hosts */
  knownHostsPath: string;
  /** The KnownHosts of that file when another backend uses it too (one write queue per file). */
  knownHosts?: KnownHosts;
  /** Where per-host tokens are kept; default `ssh/` beside knownHostsPath (DSTACK_HOME/server/ssh). */
  stateDir?: string;
  /** A shared database's copy of the tokens and known_hosts (issue 17); default none. */
  files?: HomeFiles;
  /** The dstack-agent binary to install; default: DSTACK_AGENT_BINARY, beside the SEA binary, or dist/bin. */
  agentBinary?: string;
  agentPort?: number;
  /** Agent directory relative to the remote $HOME; default `.dstack/agent`. */
  remoteDir?: string;
  /** The agent version hosts must run; default this build's version. */
  version?: string;
  log: (line: string) => void;
  clock?: () => number;
  /** A host's SSH connection dropped (false) or came back (true). */
  onReachability?: (instance: string, reachable: boolean, error?: Error) => void;
  env?: NodeJS.ProcessEnv;
}

interface HostState {
  link: HostLink;
  dispatcher: Agent;
  agent?: AgentClient;
  host?: HostInfo;
  /** ensureAgent's answer while it stays valid (until reset or teardown). */
  connection?: Promise<AgentConnection>;
}

const sameTarget = (a: SshTarget, b: SshTarget) => JSON.stringify(a) === JSON.stringify(b);

export class SshBackend implements Backend, Provisioner {
  readonly kind = 'ssh';
  private readonly hosts = new Map<string, HostState>();
  private readonly knownHosts: KnownHosts;
  private readonly tokens: TokenStore;
  private readonly binaries = new AgentBinaryCache();
  private readonly agentPort: number;
  private readonly remoteDir: string;
  private readonly version: string;

  constructor(private readonly options: SshBackendOptions) {
    this.knownHosts = options.knownHosts ?? new KnownHosts(options.knownHostsPath, options.files);
    this.tokens = new TokenStore(options.stateDir ?? join(dirname(options.knownHostsPath), 'ssh'), options.files);
    this.agentPort = options.agentPort ?? AGENT_DEFAULT_PORT;
    this.remoteDir = options.remoteDir ?? '.dstack/agent';
    this.version = options.version ?? DSTACK_VERSION;
  }

  /** The instances the daemon has now; connections of targets no longer listed (or changed) are closed. */
  setTargets(targets: SshTarget[]): void {
    const wanted = new Map(targets.map((t) => [t.instance, t]));
    for (const [name, state] of this.hosts) {
      const next = wanted.get(name);
      if (!next || !sameTarget(next, state.link.target)) void this.drop(name);
    }
    for (const t of targets) if (!this.hosts.has(t.instance)) this.add(t);
  }

  instances(): string[] {
    return [...this.hosts.keys()];
  }

  /** Brings a host in (or re-checks it); AgentConnections handed out before are stale afterwards (a new token). */
  provision(target: SshTarget, onProgress: (p: ProvisionProgress) => void, signal?: AbortSignal): Promise<ProvisionResult> {
    this.reset(target.instance);
    return this.install(this.stateFor(target), target, onProgress, signal);
  }

  private async install(state: HostState, target: SshTarget, onProgress: (p: ProvisionProgress) => void, signal?: AbortSignal): Promise<ProvisionResult> {
    const progress = (step: ProvisionStep, message: string) => onProgress({ instance: target.instance, step, message });
    const via = target.proxyJump ? ` via ${target.proxyJump.user}@${target.proxyJump.hostname}` : '';
    progress('connect', `connecting to ${target.user}@${target.hostname}:${target.port}${via}`);
    const client = await state.link.connect(signal, (host, status, fp) =>
      progress('host-key', status === 'stored' ? `host key stored (${fp})` : `host key of ${host} matches ${this.knownHosts.file}`),
    );
    await checkPrerequisites({ client, target, progress });
    const binary = await this.binaries.get(await findAgentBinary(this.options.agentBinary, this.options.env));
    const token = await this.tokens.readOrCreate(target.instance);
    const install: InstallOptions = {
      client,
      target,
      binary,
      token,
      agentId: this.agentId(target),
      agentPort: this.agentPort,
      remoteDir: this.remoteDir,
      version: this.version,
      agent: this.agentClient(state, token),
      progress,
      ...(signal ? { signal } : {}),
    };
    const layout = await remoteLayout(client, this.remoteDir);
    await installFiles(install, layout);
    const health = await startAgent(install, layout);
    const host = await install.agent.host();
    state.host = host;
    progress('host-info', `${host.cpus} CPUs, ${(host.memoryBytes / 2 ** 30).toFixed(1)} GiB memory, ${host.gpus.length} GPUs, ${host.runtime}`);
    return { host, agentVersion: health.version, fingerprint: state.link.fingerprint ?? 'unknown' };
  }

  ensureAgent(instance: string): Promise<AgentConnection> {
    const state = this.hosts.get(instance);
    if (!state) return Promise.reject(new UserError('UNKNOWN_INSTANCE', `the SSH backend has no instance ${instance}`));
    if (!state.connection) {
      const pending = this.connectAgent(instance, state);
      state.connection = pending;
      pending.catch(() => {
        if (state.connection === pending) delete state.connection;
      });
    }
    return state.connection;
  }

  reset(instance: string): void {
    const state = this.hosts.get(instance);
    if (state) delete state.connection;
  }

  async offers(requirements: Requirements): Promise<Offer[]> {
    const offers = await Promise.all(
      [...this.hosts.entries()].map(async ([instance, state]): Promise<Offer | undefined> => {
        // A host whose link is down answers nothing until it reconnects: its last known resources, at once.
        if (state.host && state.link.isDown()) return sshOffer(state.link.target, { host: state.host, reachable: false, liveReplicas: 0 }, requirements);
        const snap = await this.snapshot(instance, state).catch((e: unknown) => {
          this.options.log(`ssh: no offer from ${instance}: ${e instanceof DstackError ? e.code : (e as Error).message}`);
          return state.host ? ({ host: state.host, reachable: false, liveReplicas: 0 } satisfies HostSnapshot) : undefined;
        });
        return snap && sshOffer(state.link.target, snap, requirements);
      }),
    );
    return offers.filter((o): o is Offer => o !== undefined);
  }

  /**
   * Takes a host out: every replica its agent holds is stopped and removed, then the agent is stopped and its
   * directory (binary, token, state, unpacked cache) deleted. Best effort per step; failures come back as one error.
   */
  async teardown(target: SshTarget): Promise<void> {
    const state = this.stateFor(target);
    const errors: string[] = [];
    const step = async (what: string, fn: () => Promise<void>) => {
      await fn().catch((e: unknown) => void errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`));
    };
    const client = await state.link.connect();
    const token = await this.tokens.read(target.instance);
    if (token) {
      const agent = this.agentClient(state, token);
      await step('listing replicas', async () => {
        for (const r of await agent.listReplicas()) await step(`stopping replica ${r.id}`, async () => void (await agent.stopReplica(r.id, 10)));
      });
    }
    const layout = await remoteLayout(client, this.remoteDir);
    await step('stopping dstack-agent', async () => {
      const res = await exec(client, `[ ! -x ${shq(layout.binary)} ] || ${shq(layout.binary)} stop --home ${shq(layout.dir)}`);
      if (res.code !== 0) throw new Error(res.stderr.trim() || `exit ${res.code}`);
    });
    await step(`removing ${layout.dir}`, async () => {
      const res = await exec(client, `rm -rf ${shq(layout.dir)}`);
      if (res.code !== 0) throw new Error(res.stderr.trim() || `exit ${res.code}`);
    });
    await step('removing the token file', () => this.tokens.remove(target.instance));
    this.drop(target.instance);
    if (errors.length > 0) {
      throw new InternalError('TEARDOWN_INCOMPLETE', `teardown of ${target.instance} left work undone: ${errors.join('; ')}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.hosts.keys()].map((name) => this.drop(name)));
  }

  private async connectAgent(instance: string, state: HostState): Promise<AgentConnection> {
    const token = await this.tokens.read(instance);
    await state.link.connect();
    const health = token ? await this.agentClient(state, token).health().catch(() => undefined) : undefined;
    if (!token || health?.version !== this.version) {
      this.options.log(`ssh: ${instance}: agent ${health ? `runs ${health.version}` : 'does not answer'}; provisioning`);
      await this.install(state, state.link.target, (p) => this.options.log(`ssh: ${instance}: ${p.step}: ${p.message}`));
    }
    const dispatcher = state.dispatcher;
    const agent = state.agent;
    if (!agent) throw new InternalError('SSH_NO_AGENT', `no agent client for ${instance} after provisioning`);
    return {
      instance,
      client: agent,
      replicaOrigin: (hostPort) => ({ origin: `http://127.0.0.1:${hostPort}`, dispatcher }),
      // A channel of the same connection: nothing on the host listens beyond loopback for it.
      openTcp: async (host, port) => new ChannelSocket((await openChannel(state.link.current(), instance, port, 10_000, host)) as ClientChannel),
      // The SSH connection is shared by every user of this host; it closes with setTargets/teardown/close.
      close: async () => {},
    };
  }

  private async snapshot(instance: string, state: HostState): Promise<HostSnapshot> {
    const conn = await this.ensureAgent(instance);
    const [host, replicas] = await Promise.all([conn.client.host(), conn.client.listReplicas()]);
    state.host = host;
    const liveReplicas = replicas.filter((r) => r.phase !== 'exited' && r.phase !== 'failed').length;
    return { host, reachable: state.link.current() !== undefined, liveReplicas };
  }

  /** The agent client over this host's tunnel (one per state; a new token replaces it). */
  private agentClient(state: HostState, token: string): AgentClient {
    state.agent = new AgentClient({ origin: `http://127.0.0.1:${this.agentPort}`, token, dispatcher: state.dispatcher });
    return state.agent;
  }

  /**
   * Stable per host and per install directory, never shared between hosts: the agent adopts containers by it. A
   * host with a key alias (a cloud instance) is that instance, whatever address it has: the next VM at the same
   * address must not adopt this one's containers.
   */
  private agentId(t: SshTarget): string {
    const host = t.hostKeyAlias ?? `${t.user}@${t.hostname}:${t.port}`;
    return `ssh-${createHash('sha256').update(`${host}/${this.remoteDir}`).digest('hex').slice(0, 12)}`;
  }

  private stateFor(target: SshTarget): HostState {
    const state = this.hosts.get(target.instance);
    if (state && sameTarget(state.link.target, target)) return state;
    if (state) void this.drop(target.instance);
    return this.add(target);
  }

  private add(target: SshTarget): HostState {
    const link = new HostLink(target, {
      knownHosts: this.knownHosts,
      log: this.options.log,
      clock: this.options.clock ?? Date.now,
      onReachability: (reachable, error) => this.options.onReachability?.(target.instance, reachable, error),
    });
    const state: HostState = { link, dispatcher: tunnelDispatcher(target.instance, () => link.current()) };
    this.hosts.set(target.instance, state);
    return state;
  }

  private async drop(instance: string): Promise<void> {
    const state = this.hosts.get(instance);
    if (!state) return;
    this.hosts.delete(instance);
    state.link.close();
    await state.dispatcher.destroy().catch(() => undefined);
  }
}
