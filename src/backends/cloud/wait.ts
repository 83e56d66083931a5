/**
 * The two waits between "the cloud created a VM" and "it is an SSH host": until the provider reports it running
 * with an address, then until its sshd lets us in (a fresh VM refuses connections, then refuses the key until
 * cloud-init installed it). Both are bounded, abort-aware, and driven by an injected clock and sleep so tests
 * step through them without real time.
 */
import { InternalError, UserError, isDstackError } from '../../core/errors.js';
import type { CloudInstance, Compute } from '../compute.js';

export interface Scheduler {
  clock: () => number;
  /** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const realScheduler: Scheduler = {
  clock: Date.now,
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface AddressWait {
  compute: Compute;
  instance: CloudInstance;
  scheduler: Scheduler;
  timeoutMs: number;
  /** Longest delay between polls. */
  pollMs: number;
  /** First delay (default pollMs); it doubles up to pollMs. A VM often runs within a second of its creation. */
  firstPollMs?: number;
  signal?: AbortSignal;
}

/** The instance once it runs with an address; fails when it ends first, or after `timeoutMs`, naming it. */
export async function waitForAddress(w: AddressWait): Promise<CloudInstance> {
  const { compute, instance, scheduler } = w;
  const deadline = scheduler.clock() + w.timeoutMs;
  let delay = Math.min(w.firstPollMs ?? w.pollMs, w.pollMs);
  for (;;) {
    w.signal?.throwIfAborted();
    const now = await compute.describeInstance(instance);
    if (!now || now.state === 'terminated' || now.state === 'shutting-down') {
      const why = now?.stateReason ? ` (${now.stateReason})` : now ? '' : ' (the provider no longer knows it)';
      throw new UserError('INSTANCE_TERMINATED', `${compute.kind} instance ${instance.instanceId} was terminated before it became reachable${why}`, {
        hint: instance.spot ? 'Spot capacity may have been reclaimed: try again, or use on-demand (`spot_policy: on-demand` or `auto`).' : undefined,
      });
    }
    // A private address may be known while the VM is pending; the public one only once it runs.
    if (now.state === 'running' && now.hostname) {
      return { ...instance, hostname: now.hostname, ...(now.internalIp ? { internalIp: now.internalIp } : {}) };
    }
    if (scheduler.clock() >= deadline) {
      throw new InternalError('INSTANCE_NO_ADDRESS', `${compute.kind} instance ${instance.instanceId} is still ${now.state} without an address after ${Math.round(w.timeoutMs / 1000)} s`, {
        hint: 'The instance is terminated; check the region\'s service health or quotas, then provision again.',
      });
    }
    await scheduler.sleep(delay, w.signal);
    delay = Math.min(delay * 2, w.pollMs);
  }
}

/** SSH failures a booting VM gives before it is ready: nothing listening, a dropped handshake, the key not yet installed. */
const NOT_YET = new Set(['SSH_UNREACHABLE', 'SSH_AUTH_FAILED']);

export interface SshWait {
  what: string;
  scheduler: Scheduler;
  timeoutMs: number;
  /** First delay between tries; it doubles up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  onRetry: (message: string) => void;
  signal?: AbortSignal;
}

/** Runs `attempt` (an SSH bootstrap) until it gets past the connection, retrying only "sshd is not ready yet" failures. */
export async function retryUntilSsh<T>(w: SshWait, attempt: () => Promise<T>): Promise<T> {
  const deadline = w.scheduler.clock() + w.timeoutMs;
  let delay = w.backoffMs;
  for (;;) {
    try {
      return await attempt();
    } catch (e) {
      if (!isDstackError(e) || !NOT_YET.has(e.code) || w.signal?.aborted) throw e;
      if (w.scheduler.clock() + delay > deadline) {
        throw new UserError(e.code, `${w.what} did not accept SSH within ${Math.round(w.timeoutMs / 1000)} s: ${e.message}`, { cause: e, ...(e.hint ? { hint: e.hint } : {}) });
      }
      w.onRetry(`sshd of ${w.what} is not ready (${e.code}); next try in ${Math.round(delay / 1000)} s`);
      await w.scheduler.sleep(delay, w.signal);
      delay = Math.min(delay * 2, w.maxBackoffMs);
    }
  }
}
