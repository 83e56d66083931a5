/**
 * Before an attach binds anything: the replica it gets must run. Like dstack's attach, a run still being provisioned
 * is waited for (polling its attach info); a finished run is an error naming its status.
 */
import type { AttachInfo } from '../attach/api.js';
import { UserError } from '../errors.js';
import { isRunFinished } from '../reconcile/run-status.js';
import type { DaemonClient } from './daemon-client.js';

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const abortableSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

export interface WaitOptions {
  signal: AbortSignal;
  /** Called once, when the replica does not run yet. */
  onWaiting?: (info: AttachInfo) => void;
  pollMs?: number;
  sleep?: Sleep;
}

/** The attach info once its replica runs; undefined if `signal` aborted first. */
export async function waitForRunningReplica(client: Pick<DaemonClient, 'attachInfo'>, name: string, replica: number | undefined, o: WaitOptions): Promise<AttachInfo | undefined> {
  const sleep = o.sleep ?? abortableSleep;
  let told = false;
  while (!o.signal.aborted) {
    const info = await client.attachInfo(name, replica);
    if (isRunFinished({ status: info.runStatus })) {
      throw new UserError('RUN_FINISHED', `Run ${name} is ${info.runStatus}`, { hint: 'Attach works on a running run; see `dstack ps -a`.' });
    }
    if (info.replica?.status === 'running') return info;
    if (!told) o.onWaiting?.(info);
    told = true;
    await sleep(o.pollMs ?? 1_000, o.signal);
  }
  return undefined;
}
