/**
 * `--since` as dstack takes it: a relative duration (`30s`, `10m`, `2h`, `1d`) or an RFC 3339 timestamp.
 * Returns unix seconds, which is what the daemon and the agent take on their logs endpoints.
 */
import { UserError } from '../errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export function parseSince(value: string, nowMs: number): number {
  const rel = /^(\d+)\s*([smhdw])$/i.exec(value.trim());
  if (rel) {
    const seconds = Number(rel[1]) * (UNIT_SECONDS[rel[2]!.toLowerCase()] ?? 1);
    return Math.floor(nowMs / 1000) - seconds;
  }
  if (/^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) {
    const ms = Date.parse(value.trim());
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  throw new UserError('INVALID_SINCE', `--since ${JSON.stringify(value)} is neither a duration nor an RFC 3339 time`, {
    hint: 'Pass a duration like 10m, 2h, 1d, or a time like 2025-01-31T12:00:00Z.',
  });
}
