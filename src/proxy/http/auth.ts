/**
 * The default `Authenticate`: a Bearer token is accepted for a project when its sha256 digest equals one of the
 * project's accepted digests (its members' stored token hashes, global admins', config.yml's legacy project tokens),
 * so the data plane, proxy workers included, never holds a plain token. Compared with `timingSafeEqual` (equal
 * lengths, so no length leak) against every accepted digest without an early exit, so the time taken does not tell
 * how close a guess was or which token matched. A refused token is then looked up the same way among all known
 * digests: `not-member` when found (no failed login), else `unknown`.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { Authenticate, AuthVerdict } from '../contracts.js';

/**
 * A project's accepted token digests (sha256, hex); undefined = no such project. Asked for `KNOWN_TOKENS`, every
 * digest the server knows (all users', admins', config.yml's): what tells a non-member from a guesser.
 */
export type DigestsOf = (project: string) => readonly string[] | undefined;

/** Not a project name (core/auth/names.ts allows none with `*`), so it can share the digests map workers get. */
export const KNOWN_TOKENS = '*';

/** The digest a token is stored and compared as (the same as core/auth tokenHash). */
export const tokenDigest = (token: string): string => hash('sha256', token, 'hex');

const DIGEST_BYTES = 32;

export function makeDigestAuthenticate(digestsOf: DigestsOf): Authenticate {
  // Accepted digests change rarely; their bytes are cached per hex value (bounded: they are few).
  const bytes = new Map<string, Buffer>();
  const bytesOf = (hex: string): Buffer => {
    let b = bytes.get(hex);
    if (!b) {
      if (bytes.size > 10_000) bytes.clear();
      b = Buffer.from(hex, 'hex');
      bytes.set(hex, b);
    }
    return b;
  };
  const accepts = (accepted: readonly string[], presented: Buffer): boolean => {
    let ok = false;
    for (const hex of accepted) {
      const b = bytesOf(hex);
      // A malformed digest never matches and costs the same comparison.
      const wellFormed = b.length === DIGEST_BYTES;
      ok = (timingSafeEqual(presented, wellFormed ? b : presented) && wellFormed) || ok;
    }
    return ok;
  };
  return (project, token): AuthVerdict => {
    if (!token) return 'unknown';
    // One-shot hash: no Hash object per request.
    const presented = hash('sha256', token, 'buffer');
    const accepted = project === KNOWN_TOKENS ? undefined : digestsOf(project);
    if (accepted && accepts(accepted, presented)) return 'ok';
    // Refusals only: the accepted path never pays for the wider set.
    return accepts(digestsOf(KNOWN_TOKENS) ?? [], presented) ? 'not-member' : 'unknown';
  };
}

/** Plain tokens by project (tests, benches): digested once per token value, then as above; known = any project's. */
export function makeAuthenticate(tokensByProject: () => Map<string, string[]>): Authenticate {
  const digests = new Map<string, string>();
  const digestOf = (token: string): string => {
    let d = digests.get(token);
    if (d === undefined) {
      if (digests.size > 10_000) digests.clear();
      d = tokenDigest(token);
      digests.set(token, d);
    }
    return d;
  };
  return makeDigestAuthenticate((project) =>
    project === KNOWN_TOKENS ? [...tokensByProject().values()].flat().map(digestOf) : tokensByProject().get(project)?.map(digestOf),
  );
}

/** The token of an `Authorization: Bearer <token>` header; undefined when absent or another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header || header.length < 8) return undefined;
  if (header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token || undefined;
}
