/**
 * Change detection without serializing: decisions copy records shallowly and replace a nested value only when they
 * change it, so two records are equal when every field holds the same value or the same object. A field set to
 * `undefined` equals an absent one (state files drop both alike).
 */
import type { RunRecord } from '../state/schema.js';

export function sameFields<T extends object>(a: T, b: T): boolean {
  if (a === b) return true;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k of Object.keys(x)) if (x[k] !== y[k]) return false;
  for (const k of Object.keys(y)) if (!(k in x) && y[k] !== undefined) return false;
  return true;
}

/** `next` when it differs from `previous`, else `previous` itself (so "same object" means "nothing changed"). */
export const unlessSame = <T extends object>(previous: T, next: T): T => (sameFields(previous, next) ? previous : next);

/** A decided run draft, with `input`'s own objects wherever the draft equals them (`input` itself when nothing changed). */
export function keepUnchanged(input: RunRecord, draft: RunRecord): RunRecord {
  const byId = new Map(input.replicas.map((r) => [r.id, r]));
  const replicas = draft.replicas.map((r) => {
    const before = byId.get(r.id);
    return before && sameFields(before, r) ? before : r;
  });
  const sameReplicas = replicas.length === input.replicas.length && replicas.every((r, i) => r === input.replicas[i]);
  const next = { ...draft, replicas: sameReplicas ? input.replicas : replicas };
  return sameFields(input, next) ? input : next;
}
