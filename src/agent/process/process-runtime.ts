import { spawn } from 'node:child_process';
import { access, mkdir, open, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ReplicaSpec, ReplicaState } from '../../core/model/agent-api.js';
import { AgentError } from '../errors.js';
import { lastLines } from '../docker/logs.js';
import type { Timers } from '../docker/watch.js';
import { processArgv, replicaEnv } from '../replicas/command.js';
import { exitedPatch } from '../replicas/exit.js';
import type { ExitInfo, LogOptions, ReplicaRuntime, RuntimeHooks } from '../replicas/runtime.js';
import { tailFile } from './log-tail.js';
import { groupAlive, isAlive, readProcStat, shellQuote, signalGroup, type ProcessIdentity } from './proc.js';
import { ReplicaDirs, type ProcessRecord } from './replica-dir.js';
import { resolveUser } from './user.js';

export interface ProcessRuntimeOptions {
  home: string;
  hooks: RuntimeHooks;
  now: () => number;
  timers: Timers;
  /** How often liveness of adopted processes (not our children) is checked. */
  pollMs?: number;
}

interface Tracked {
  identity: ProcessIdentity;
  stopping: boolean;
}

/**
 * Runs a replica as a detached process group in `<home>/replicas/<id>/` (the local backend's fallback when
 * no Docker engine answers). A small `sh` wrapper records the exit code in the replica dir, so an agent
 * restarted after the process ended still learns how it ended.
 */
export class ProcessRuntime implements ReplicaRuntime {
  readonly kind = 'process' as const;
  private readonly dirs: ReplicaDirs;
  private readonly tracked = new Map<string, Tracked>();
  private pollTimer: unknown;
  private closed = false;

  constructor(private readonly opts: ProcessRuntimeOptions) {
    this.dirs = new ReplicaDirs(opts.home);
  }

  async run(spec: ReplicaSpec, signal: AbortSignal): Promise<Partial<ReplicaState>> {
    if (spec.image && spec.commands.length === 0 && spec.entrypoint === undefined) {
      throw new AgentError(
        'IMAGE_REQUIRES_DOCKER',
        `image ${spec.image} cannot run without a Docker engine: the process runtime runs only \`commands\` (install Docker on this host, or add commands)`,
        400,
      );
    }
    const argv = processArgv(spec);
    const ids = spec.user ? await resolveUser(spec.user) : undefined;
    await this.dirs.create(spec.id);
    const cwd = spec.workingDir ?? spec.repo?.dir ?? this.dirs.work(spec.id);
    await mkdir(cwd, { recursive: true });
    if (signal.aborted) throw new AgentError('ABORTED', 'the replica was stopped before it started', 499);
    const exitFile = this.dirs.exitCodeFile(spec.id);
    // `"$@"` runs the replica's argv unchanged; the wrapper then records its exit status atomically.
    const wrapper = `"$@"; code=$?; printf %s "$code" > ${shellQuote(`${exitFile}.tmp`)} && mv ${shellQuote(`${exitFile}.tmp`)} ${shellQuote(exitFile)}; exit $code`;
    const log = await open(this.dirs.log(spec.id), 'a', 0o600);
    const createdAt = this.opts.now();
    let pid: number;
    try {
      const child = spawn('/bin/sh', ['-c', wrapper, 'dstack-replica', ...argv], {
        cwd,
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        env: { ...process.env, ...replicaEnv(spec), DSTACK_REPLICA_DIR: this.dirs.dir(spec.id) },
        ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
      });
      pid = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => resolve(child.pid as number));
        child.once('error', reject);
      });
      child.once('exit', () => void this.check(spec.id));
      child.unref();
    } catch (e) {
      await this.dirs.remove(spec.id);
      throw new AgentError('SPAWN_FAILED', `could not start the replica process: ${(e as Error).message}`, 500, { cause: e });
    } finally {
      await log.close();
    }
    const startTime = (await readProcStat(pid))?.startTime ?? '';
    const note = spec.image ? `image ${spec.image} is not used: no Docker engine here, so commands run on the host` : undefined;
    const record: ProcessRecord = {
      id: spec.id, runName: spec.runName, replicaNum: spec.replicaNum, project: spec.project, port: spec.port,
      pid, startTime, createdAt, startedAt: createdAt, ...(note ? { note } : {}),
    };
    await this.dirs.writeRecord(record);
    this.track(spec.id, { pid, startTime });
    return { phase: 'running', pid, hostPort: spec.port, startedAt: createdAt, ...(note ? { message: note } : {}) };
  }

  async stop(id: string, timeoutSeconds: number): Promise<ExitInfo | undefined> {
    const tracked = this.tracked.get(id);
    if (tracked) {
      tracked.stopping = true;
      const { pid } = tracked.identity;
      signalGroup(pid, 'SIGTERM');
      const deadline = this.opts.now() + timeoutSeconds * 1000;
      while ((await groupAlive(pid)) && this.opts.now() < deadline) await this.sleep(100);
      if (await groupAlive(pid)) signalGroup(pid, 'SIGKILL');
      while (await groupAlive(pid)) await this.sleep(50);
      this.tracked.delete(id);
    }
    const info = await this.exitInfo(id);
    await this.dirs.remove(id);
    return info;
  }

  async logs(id: string, options: LogOptions): Promise<Readable> {
    const file = this.dirs.log(id);
    await access(file).catch(() => {
      throw new AgentError('LOGS_UNAVAILABLE', `replica ${id} has no log (it was removed)`, 404);
    });
    const identity = this.tracked.get(id)?.identity;
    return tailFile(file, {
      follow: options.follow,
      signal: options.signal,
      writerAlive: async () => (identity ? isAlive(identity) : false),
      sleep: (ms) => this.sleep(ms),
    });
  }

  async adopt(): Promise<ReplicaState[]> {
    const states: ReplicaState[] = [];
    for (const r of await this.dirs.records()) {
      const identity = { pid: r.pid, startTime: r.startTime };
      const base = {
        id: r.id, runName: r.runName, replicaNum: r.replicaNum, project: r.project, runtime: 'process' as const,
        pid: r.pid, hostPort: r.port, createdAt: r.createdAt, startedAt: r.startedAt,
      };
      if (await isAlive(identity)) {
        this.track(r.id, identity);
        states.push({ ...base, phase: 'running', ...(r.note ? { message: r.note } : {}) });
      } else {
        states.push({ ...base, ...exitedPatch(await this.exitInfo(r.id)) });
      }
    }
    return states;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer !== undefined) this.opts.timers.clearTimeout(this.pollTimer);
  }

  private track(id: string, identity: ProcessIdentity): void {
    this.tracked.set(id, { identity, stopping: false });
    this.schedulePoll();
  }

  /** Adopted processes are not our children (no `exit` event), so their liveness is polled. */
  private schedulePoll(): void {
    if (this.closed || this.pollTimer !== undefined || this.tracked.size === 0) return;
    this.pollTimer = this.opts.timers.setTimeout(() => {
      this.pollTimer = undefined;
      void Promise.all([...this.tracked.keys()].map((id) => this.check(id))).then(() => this.schedulePoll());
    }, this.opts.pollMs ?? 1000);
  }

  private async check(id: string): Promise<void> {
    const tracked = this.tracked.get(id);
    if (!tracked || tracked.stopping || (await isAlive(tracked.identity))) return;
    if (this.tracked.get(id) !== tracked) return;
    this.tracked.delete(id);
    // The replica is its leader; whatever it left running in its group would be an orphan nobody tracks.
    signalGroup(tracked.identity.pid, 'SIGKILL');
    this.opts.hooks.exited(id, await this.exitInfo(id));
  }

  private async exitInfo(id: string): Promise<ExitInfo> {
    const exitCode = await this.dirs.exitCode(id);
    const log = await readFile(this.dirs.log(id)).catch(() => Buffer.alloc(0));
    return { lastLines: lastLines(log.subarray(-64 * 1024), 5), ...(exitCode !== undefined ? { exitCode } : {}) };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.opts.timers.setTimeout(resolve, ms));
  }
}
