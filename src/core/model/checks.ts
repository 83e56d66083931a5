/**
 * Cross-field checks that run even when other parts of the document have errors, so that one `validate`
 * reports every problem (zod skips refinements once any issue exists, unless given `when`).
 */
import type { z } from 'zod';

type Payload = z.core.ParsePayload;


/** Runs `check` when none of `fields` (top-level keys of this object) has its own issue. */
export function whenValid(fields: readonly string[]) {
  return { when: (payload: Payload) => !payload.issues.some((i) => fields.includes(String(i.path?.[0]))) };
}

export function issue(ctx: z.RefinementCtx, path: PropertyKey[], message: string): void {
  ctx.addIssue({ code: 'custom', message, path });
}
