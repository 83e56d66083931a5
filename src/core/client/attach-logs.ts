/**
 * The logs half of `dstack attach`: the replica's log, followed across its resubmissions (a replaced replica keeps
 * its number) until the run finishes or the user detaches. A stream that breaks while the same submission still runs
 * (the daemon or agent restarted) resumes from when it broke, so lines are not printed twice.
 */
import type { AttachInfo } from '../attach/api.js';
import { DstackError } from '../errors.js';
import { isRunFinished } from '../reconcile/run-status.js';
import { abortableSleep, type Sleep } from './attach-wait.js';
import type { DaemonClient } from './daemon-client.js';

export interface FollowLogsOptions {
  /** Unix seconds: the first stream starts there (`--since`); later submissions are shown whole. */
  since?: number;
  signal: AbortSignal;
  write: (chunk: Uint8Array) => Promise<void> | void;
  /** A failure to read logs; the forwarding goes on, so it is reported, not thrown. Once per distinct code in a row. */
  onError?: (e: DstackError) => void;
  now?: () => number;
  pollMs?: number;
  sleep?: Sleep;
}

/** Resolves with the run's attach info once the run finished, or undefined when `signal` aborted. */
export async function followAttachLogs(client: Pick<DaemonClient, 'attachInfo' | 'logs'>, name: string, replica: number, o: FollowLogsOptions): Promise<AttachInfo | undefined> {
  const sleep = o.sleep ?? abortableSleep;
  const now = o.now ?? Date.now;
  let followed: { submission: number; endedAt: number } | undefined;
  let lastCode: string | undefined;
  while (!o.signal.aborted) {
    try {
      const info = await client.attachInfo(name, replica);
      if (isRunFinished({ status: info.runStatus })) return info;
      const r = info.replica;
      if (r?.status === 'running') {
        const same = followed?.submission === r.submission;
        const since = same ? followed?.endedAt : followed === undefined ? o.since : undefined;
        const body = await client.logs(name, { replica, follow: true, ...(since === undefined ? {} : { since }) }, o.signal);
        for await (const chunk of body) await o.write(chunk);
        followed = { submission: r.submission, endedAt: Math.floor(now() / 1000) };
      }
      lastCode = undefined;
    } catch (e) {
      if (o.signal.aborted) return undefined;
      if (!(e instanceof DstackError) || e.code === 'RUN_NOT_FOUND') throw e;
      if (e.code !== lastCode) o.onError?.(e);
      lastCode = e.code;
    }
    await sleep(o.pollMs ?? 1_000, o.signal);
  }
  return undefined;
}
