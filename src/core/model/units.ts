/**
 * Durations, sizes and ranges (dstack `core/models/{duration,resources}.py`), parsed into numbers at the edge so
 * nothing past the schema sees raw strings: durations → seconds, sizes → bytes, ranges → `{min, max?}`
 * (an absent `max` means unbounded).
 */
import { z } from 'zod';

export interface Range {
  min: number;
  max?: number;
}

export const GB = 1024 ** 3;
const UNIT_BYTES: Record<string, number> = { mb: 1024 ** 2, gb: GB, tb: 1024 * GB };
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };
const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

/** `8GB`, `512MB`, `1TB`, or a bare number of GB (dstack's `Memory`), to bytes. */
export function parseMemory(v: unknown): Parsed<number> {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return { ok: true, value: Math.round(v * GB) };
  if (typeof v !== 'string') return fail('expected a size like `8GB`, `512MB` or `1TB`');
  const m = /^\s*(\d+(?:\.\d+)?)\s*(mb|gb|tb)?\s*$/i.exec(v);
  if (!m) return fail(`invalid size \`${v}\`; expected a number with MB, GB or TB (e.g. \`8GB\`)`);
  const unit = UNIT_BYTES[(m[2] ?? 'gb').toLowerCase()] ?? GB;
  return { ok: true, value: Math.round(Number(m[1]) * unit) };
}

/** Int seconds or `<int><s|m|h|d|w>` (one unit, optional space). */
export function parseDuration(v: unknown): Parsed<number> {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return { ok: true, value: v };
  const m = typeof v === 'string' ? /^\s*(\d+)\s*([smhdw])?\s*$/i.exec(v) : null;
  if (!m) return fail(`invalid duration ${show(v)}; expected seconds or a number with s, m, h, d or w (e.g. \`30s\`, \`5m\`, \`1h\`)`);
  return { ok: true, value: Number(m[1]) * (UNIT_SECONDS[(m[2] ?? 's').toLowerCase()] ?? 1) };
}

/** `N`, `min..max`, `min..`, `..max` (spaces ignored) over a scalar grammar; also `{min, max}`. */
export function parseRange(v: unknown, scalar: (x: unknown) => Parsed<number>, what: string): Parsed<Range> {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => k !== 'min' && k !== 'max');
    if (extra.length > 0) return fail(`unknown field \`${extra[0]}\` in a range; expected \`min\` and \`max\``);
    return rangeFrom(o.min === undefined || o.min === null ? undefined : o.min, o.max ?? undefined, scalar, what);
  }
  if (typeof v === 'string' && v.includes('..')) {
    const [lo, hi, ...rest] = v.replace(/\s+/g, '').split('..');
    if (rest.length > 0 || (lo === '' && hi === '')) return fail(`invalid range \`${v}\`; expected \`min..max\`, \`min..\` or \`..max\``);
    return rangeFrom(lo === '' ? undefined : lo, hi === '' ? undefined : hi, scalar, what);
  }
  const one = scalar(v);
  return one.ok ? { ok: true, value: { min: one.value, max: one.value } } : one;
}

function rangeFrom(lo: unknown, hi: unknown, scalar: (x: unknown) => Parsed<number>, what: string): Parsed<Range> {
  const min = lo === undefined ? { ok: true as const, value: 0 } : scalar(lo);
  if (!min.ok) return min;
  if (hi === undefined) return { ok: true, value: { min: min.value } };
  const max = scalar(hi);
  if (!max.ok) return max;
  if (min.value > max.value) return fail(`invalid ${what} range: the minimum is greater than the maximum`);
  return { ok: true, value: { min: min.value, max: max.value } };
}

export function parseCount(v: unknown): Parsed<number> {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return { ok: true, value: v };
  if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) return { ok: true, value: Number(v) };
  return fail(`invalid number ${show(v)}; expected a non-negative integer`);
}

export function show(v: unknown): string {
  return typeof v === 'string' ? `\`${v}\`` : v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `\`${String(v)}\``;
}

/** Turns a `Parsed` parser into a zod schema that reports its message at the field. */
export function parsed<T>(parse: (v: unknown) => Parsed<T>) {
  return z.unknown().transform((v, ctx): T => {
    const r = parse(v);
    if (r.ok) return r.value;
    ctx.addIssue({ code: 'custom', message: r.message, input: v });
    return z.NEVER;
  });
}

export const Duration = parsed(parseDuration);
/** A duration or `off` / `false` (unlimited). */
export const DurationOrOff = parsed<number | 'off'>((v) => (v === 'off' || v === false ? { ok: true, value: 'off' } : parseDuration(v)));
export const Memory = parsed(parseMemory);
export const MemoryRange = parsed((v) => parseRange(v, parseMemory, 'size'));
export const CountRange = parsed((v) => parseRange(v, parseCount, 'count'));
