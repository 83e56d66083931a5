import { UserError } from '../errors.js';

export const DEFAULT_REPO_SIZE_LIMIT = 100 * 1024 * 1024;
export const REPO_SIZE_LIMIT_ENV = 'DSTACK_REPO_SIZE_LIMIT';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  ...Object.fromEntries(
    (['k', 'm', 'g'] as const).flatMap((u, i) => [u, `${u}b`, `${u}ib`].map((s) => [s, 1024 ** (i + 1)])),
  ),
};

/** Parses `104857600`, `100MB`, `1.5GiB` (binary units, as docker reads memory sizes) into bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  return Math.floor(Number(m[1]) * unit);
}

/** The explicit option wins, then `DSTACK_REPO_SIZE_LIMIT`, then 100 MB. */
export function resolveSizeLimit(maxBytes: number | undefined, env: NodeJS.ProcessEnv): number {
  if (maxBytes !== undefined) return maxBytes;
  const raw = env[REPO_SIZE_LIMIT_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_REPO_SIZE_LIMIT;
  const parsed = parseSize(raw);
  if (parsed === undefined || parsed <= 0) {
    throw new UserError('INVALID_REPO_SIZE_LIMIT', `${REPO_SIZE_LIMIT_ENV}=${raw} is not a size`, {
      hint: `Use a number of bytes or a size such as 200MB or 1GB.`,
    });
  }
  return parsed;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
