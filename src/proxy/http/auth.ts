/**
 * The default `Authenticate`: a Bearer token is accepted when it equals a token of a project member. Compared as
 * sha256 digests with `timingSafeEqual` (equal lengths, so no length leak), against every member token without an
 * early exit, so the time taken does not tell how close a guess was or which token matched.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { Authenticate } from '../contracts.js';

// One-shot hash: no Hash object per request (createHash().update().digest() cost three calls and a wrapper).
const digest = (token: string): Buffer => hash('sha256', token, 'buffer');

export function makeAuthenticate(tokensByProject: () => Map<string, string[]>): Authenticate {
  // Member tokens change rarely; their digests are cached per token value (bounded: tokens are few).
  const digests = new Map<string, Buffer>();
  const digestOf = (token: string): Buffer => {
    let d = digests.get(token);
    if (!d) {
      if (digests.size > 10_000) digests.clear();
      d = digest(token);
      digests.set(token, d);
    }
    return d;
  };
  return (project, token) => {
    if (!token) return false;
    const members = tokensByProject().get(project);
    if (!members || members.length === 0) return false;
    const presented = digest(token);
    let ok = false;
    for (const member of members) ok = timingSafeEqual(presented, digestOf(member)) || ok;
    return ok;
  };
}

/** The token of an `Authorization: Bearer <token>` header; undefined when absent or another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header || header.length < 8) return undefined;
  if (header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token || undefined;
}
