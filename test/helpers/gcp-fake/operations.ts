// Zone and global Operations. Each finishes at a set time; what it changes (an instance removed, a firewall made
// visible) happens then, when some request or test call next looks (`settle`), so the fake runs no timers besides
// the ones `wait` holds open.
import { API_BASE, stableId } from './catalog.js';
import type { OperationFailure } from './errors.js';

export interface OperationSpec {
  project: string;
  /** undefined for a global operation. */
  zone?: string;
  operationType: string;
  targetLink: string;
  targetId?: string;
  /** ms from now until DONE. */
  delayMs: number;
  failure?: OperationFailure;
  user?: string;
  statusMessage?: string;
  onDone?: () => void;
}

interface Operation extends OperationSpec {
  name: string;
  id: string;
  insertTime: string;
  doneAt: number;
  done: boolean;
  endTime?: string;
}

export class Operations {
  private readonly ops = new Map<string, Operation>();
  private seq = 0;

  start(spec: OperationSpec): Operation {
    const now = Date.now();
    const name = `operation-${now}-${(++this.seq).toString(16).padStart(13, '0')}-${stableId(spec.targetLink).slice(0, 8)}`;
    const op: Operation = { ...spec, name, id: stableId(`${name}/${spec.targetLink}`), insertTime: new Date(now).toISOString(), doneAt: now + spec.delayMs, done: false };
    this.ops.set(name, op);
    this.settle();
    return op;
  }

  /** Finishes every operation whose time has come, applying its effect. */
  settle(now = Date.now()): void {
    for (const op of this.ops.values()) {
      if (op.done || op.doneAt > now) continue;
      op.done = true;
      op.endTime = new Date(now).toISOString();
      op.onDone?.();
    }
  }

  /** By name or numeric id, as GCE accepts either; scoped to the zone (or global) it was asked under. */
  find(project: string, zone: string | undefined, key: string): Operation | undefined {
    this.settle();
    const op = this.ops.get(key) ?? [...this.ops.values()].find((o) => o.id === key);
    return op && op.project === project && op.zone === zone ? op : undefined;
  }

  list(project: string, zone: string | undefined): Operation[] {
    this.settle();
    return [...this.ops.values()].filter((o) => o.project === project && o.zone === zone);
  }

  /** ms until `op` is DONE (0 when it is). */
  remaining(op: Operation): number {
    return op.done ? 0 : Math.max(0, op.doneAt - Date.now());
  }

  json(op: Operation): Record<string, unknown> {
    const scope = op.zone ? `zones/${op.zone}` : 'global';
    return {
      kind: 'compute#operation',
      id: op.id,
      name: op.name,
      operationType: op.operationType,
      targetLink: op.targetLink,
      ...(op.targetId ? { targetId: op.targetId } : {}),
      status: op.done ? 'DONE' : 'RUNNING',
      ...(op.statusMessage ? { statusMessage: op.statusMessage } : {}),
      user: op.user ?? 'dstack-test@system.gserviceaccount.com',
      progress: op.done ? 100 : 0,
      insertTime: op.insertTime,
      startTime: op.insertTime,
      ...(op.endTime ? { endTime: op.endTime } : {}),
      ...(op.done && op.failure
        ? {
            error: { errors: [{ code: op.failure.code, message: op.failure.message, ...(op.failure.errorDetails ? { errorDetails: op.failure.errorDetails } : {}) }] },
            httpErrorStatusCode: op.failure.httpErrorStatusCode,
            httpErrorMessage: op.failure.httpErrorMessage,
          }
        : {}),
      selfLink: `${API_BASE}/projects/${op.project}/${scope}/operations/${op.name}`,
      ...(op.zone ? { zone: `${API_BASE}/projects/${op.project}/zones/${op.zone}` } : {}),
    };
  }
}
