import { mkdir } from 'node:fs/promises';
import type { AgentHealth } from '../core/model/agent-api.js';
import { AGENT_DEFAULT_PORT } from '../core/model/agent-constants.js';
import { dockerClient, dockerConfigured } from './docker/connect.js';
import { DockerRuntime } from './docker/docker-runtime.js';
import { realTimers, watchDocker, type DockerStatus, type Timers } from './docker/watch.js';
import { ArchiveStore } from './archives/store.js';
import { Workspaces } from './archives/workspace.js';
import { WorkspaceRuntime } from './archives/workspace-runtime.js';
import { DEFAULT_DOCKER_HOST } from './cli-options.js';
import { AgentError } from './errors.js';
import type { ExecFn } from './host/gpu-detect.js';
import { collectHostInfo } from './host/host-info.js';
import { listen } from './http/server.js';
import { MetricsCollector } from './metrics/collector.js';
import { ProcessRuntime } from './process/process-runtime.js';
import { ReplicaRegistry } from './replicas/registry.js';
import type { RuntimeKind } from './replicas/runtime.js';
import { Supervisor } from './replicas/supervisor.js';
import { agentVersion } from './version.js';

export interface AgentOptions {
  /** The host token; every API call must present it. Never taken from argv (see main.ts). */
  token: string;
  /** State directory (process replicas, pidfile, log). */
  home: string;
  /** Default 10998; 0 picks a free port (tests). */
  port?: number;
  /** Default 127.0.0.1: the daemon reaches the agent through an SSH tunnel, never over the network. */
  host?: string;
  /** `unix:///var/run/docker.sock` (default), `/path/to.sock` or `tcp://host:port`. */
  dockerHost?: string;
  /** Value of the `ai.dstack.agent` label; the agent adopts only containers carrying its own id. */
  agentId?: string;
  /** `auto`: docker when an engine is configured (socket present), else plain processes. */
  runtime?: 'auto' | RuntimeKind;
  now?: () => number;
  timers?: Timers;
  /** GPU detection seams for tests: a fixture filesystem root and recorded SMI outputs. */
  gpu?: { root?: string; exec?: ExecFn };
  log?: (line: string) => void;
}

export interface RunningAgent {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the agent: adopts the replicas this agent left on the host (containers with its labels, process
 * dirs with a live pid), follows Docker's events, and serves the API. `close()` stops serving but leaves
 * every replica running: replicas outlive the agent by design.
 */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  if (!options.token) throw new AgentError('NO_TOKEN', 'the agent needs a token (--token-file or DSTACK_AGENT_TOKEN_FILE)', 400);
  const now = options.now ?? Date.now;
  const timers = options.timers ?? realTimers;
  const log = options.log ?? (() => undefined);
  const startedAt = now();
  const dockerHost = options.dockerHost ?? process.env.DOCKER_HOST ?? DEFAULT_DOCKER_HOST;
  const agentId = options.agentId ?? 'default';
  const mode = options.runtime ?? 'auto';
  const hostRuntime: RuntimeKind = mode === 'auto' ? (dockerConfigured(dockerHost) ? 'docker' : 'process') : mode;
  await mkdir(options.home, { recursive: true, mode: 0o700 });

  const registry = new ReplicaRegistry();
  let docker: DockerStatus = { available: false, error: hostRuntime === 'docker' ? 'connecting' : 'no Docker engine configured' };
  const supervisor = new Supervisor({ registry, hostRuntime, dockerAvailable: () => docker, now });
  const archives = new ArchiveStore(options.home);
  const workspaces = new Workspaces(options.home, archives);
  const processRuntime = new WorkspaceRuntime(new ProcessRuntime({ home: options.home, hooks: supervisor, now, timers }), workspaces);
  supervisor.attach(processRuntime);
  await supervisor.adopt(processRuntime);

  let stopWatch = () => {};
  const client = hostRuntime === 'docker' ? dockerClient(dockerHost) : undefined;
  const metrics = new MetricsCollector({ registry, ...(client ? { docker: client } : {}), ...(options.gpu ? { gpu: options.gpu } : {}), now });
  if (client) {
    const containers = new DockerRuntime({ docker: client, agentId, hooks: supervisor, now });
    const dockerRuntime = new WorkspaceRuntime(containers, workspaces);
    supervisor.attach(dockerRuntime);
    let firstAttempt!: () => void;
    const firstAttemptDone = new Promise<void>((resolve) => (firstAttempt = resolve));
    stopWatch = watchDocker({
      docker: client,
      agentId,
      timers,
      onEvent: (event) => void containers.onEvent(event).catch((e: unknown) => log(`docker event: ${String(e)}`)),
      onStatus: (status) => {
        docker = status;
        log(status.available ? `docker: connected (${status.version ?? '?'})` : `docker: unavailable: ${status.error ?? ''}`);
        registry.emit({ type: 'docker', available: status.available, ...(status.error ? { error: status.error } : {}) });
        if (!status.available) firstAttempt();
      },
      onConnected: async () => {
        await supervisor.adopt(dockerRuntime);
        firstAttempt();
      },
    });
    // Answer with adopted containers from the first request on, but never hang startup on a dead engine.
    await firstAttemptDone;
  }

  const health = (): AgentHealth => ({
    version: agentVersion(),
    uptimeSeconds: Math.round((now() - startedAt) / 1000),
    pid: process.pid,
    runtime: hostRuntime,
    docker: { available: docker.available, ...(docker.version ? { version: docker.version } : {}), ...(docker.error ? { error: docker.error } : {}) },
  });
  const server = await listen({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? AGENT_DEFAULT_PORT,
    token: options.token,
    context: {
      supervisor,
      registry,
      health,
      docker: () => docker,
      timers,
      archives,
      metrics: (id) => metrics.metrics(id),
      hostInfo: () =>
        collectHostInfo({ diskPath: options.home, runtime: hostRuntime, docker: health().docker, ...options.gpu, onError: log }),
    },
  });
  log(`dstack-agent ${agentVersion()} listening on ${server.url} (runtime ${hostRuntime}, agent id ${agentId})`);
  return {
    url: server.url,
    port: server.port,
    close: async () => {
      stopWatch();
      await server.close();
      await supervisor.close();
    },
  };
}
