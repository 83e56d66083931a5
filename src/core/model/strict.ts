/**
 * Strict objects with dstack-style "unknown field" errors (STYLE.md "Schema first": unknown keys are errors,
 * with a "did you mean" hint). Zod raises one `unrecognized_keys` issue per object; our message carries one
 * line per unknown key (same order as `issue.keys`) so the loader can point at each key's own position.
 */
import { z } from 'zod';

export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The closest allowed word, if it is close enough to be a plausible typo. */
export function closest(word: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = levenshtein(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  if (bestDistance <= limit) return best;
  // `local` → `local_port`: a prefix of a longer key is a likely abbreviation.
  return word.length >= 3 ? allowed.find((a) => a.toLowerCase().startsWith(word.toLowerCase())) : undefined;
}

export function unknownFieldMessage(key: string, allowed: readonly string[]): string {
  const hint = closest(key, allowed);
  return hint === undefined ? `unknown field \`${key}\`` : `unknown field \`${key}\`; did you mean \`${hint}\`?`;
}

/** `z.strictObject` whose unknown-key issue names each key with a did-you-mean hint. */
export function strictObject<T extends z.core.$ZodLooseShape>(shape: T, description?: string) {
  const allowed = Object.keys(shape);
  const schema = z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys' ? iss.keys.map((k) => unknownFieldMessage(k, allowed)).join('\n') : undefined,
  });
  return description === undefined ? schema : schema.describe(description);
}

type Kind = 'number' | 'string' | 'boolean' | 'object' | 'array';
type Cases = Partial<Record<Kind, z.ZodType>>;

export function kindOf(v: unknown): Kind | 'null' | 'other' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  return t === 'number' || t === 'string' || t === 'boolean' || t === 'object' ? t : 'other';
}

/**
 * "Either this form or that form" fields (ports, replicas, gpu, env…). Unlike `z.union`, it picks the branch
 * by the YAML value's kind, so the user gets that branch's own precise errors instead of "invalid input".
 */
export function byType<C extends Cases>(cases: C, expected: string) {
  type Out = z.output<NonNullable<C[keyof C]>>;
  return z.unknown().transform((v, ctx): Out => {
    if (v === undefined) {
      // Reads as "`key` is required" once the loader knows the key (see config/problems.ts).
      ctx.addIssue({ code: 'invalid_type', expected: 'nonoptional', message: 'Invalid input: required', input: v });
      return z.NEVER;
    }
    const kind = kindOf(v);
    const schema = kind === 'null' || kind === 'other' ? undefined : cases[kind];
    if (schema === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${expected}`, input: v });
      return z.NEVER;
    }
    const r = schema.safeParse(v);
    if (r.success) return r.data as Out;
    for (const issue of r.error.issues) ctx.addIssue(issue as unknown as z.core.$ZodRawIssue);
    return z.NEVER;
  });
}
