import type { ReplicaState } from '../../core/model/agent-api.js';
import type { ExitInfo } from './runtime.js';

/** The terminal patch for a workload that ended on its own (not stopped by the agent). */
export type ExitedPatch = Partial<ReplicaState> & Pick<ReplicaState, 'phase'>;

export function exitedPatch(info: ExitInfo): ExitedPatch {
  const tail = info.lastLines.length ? `\n${info.lastLines.join('\n')}` : '';
  const finished = info.finishedAt !== undefined ? { finishedAt: info.finishedAt } : {};
  if (info.vanished) {
    return { phase: 'failed', reason: 'CONTAINER_REMOVED', message: 'the container was removed outside the agent', ...finished };
  }
  if (info.oomKilled) {
    return { phase: 'exited', exitCode: info.exitCode ?? 137, reason: 'OOM_KILLED', message: `killed: out of memory${tail}`, ...finished };
  }
  const code = info.exitCode ?? -1;
  if (code === 0) return { phase: 'exited', exitCode: 0, reason: 'COMPLETED', message: 'exited (0)', ...finished };
  return { phase: 'exited', exitCode: code, reason: 'CONTAINER_EXITED', message: `exited (${code})${tail}`, ...finished };
}
