/**
 * Human time as dstack prints it in tables (`SUBMITTED`: `now`, `40 secs ago`, `11 mins ago`, `yesterday`).
 * `now` is always passed in, so output is deterministic in tests and consistent within one table.
 */
const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'} ago`;

export function formatAgo(then: Date | number, now: Date | number): string {
  const seconds = Math.floor((+now - +then) / 1000);
  if (seconds < 0) return 'in the future';
  if (seconds < 10) return 'now';
  if (seconds < MINUTE) return plural(seconds, 'sec');
  if (seconds < HOUR) return plural(Math.floor(seconds / MINUTE), 'min');
  if (seconds < DAY) return plural(Math.floor(seconds / HOUR), 'hour');
  const days = Math.floor(seconds / DAY);
  if (days === 1) return 'yesterday';
  if (days < 7) return plural(days, 'day');
  if (days < 31) return plural(Math.floor(days / 7), 'week');
  if (days < 365) return plural(Math.floor(days / 30), 'month');
  return plural(Math.floor(days / 365), 'year');
}

/** A duration in the YAML's own short form: `45s`, `5m`, `1h30m`, `2d`. */
export function formatDuration(ms: number): string {
  let s = Math.round(ms / 1000);
  if (s < MINUTE) return `${s}s`;
  const parts: string[] = [];
  for (const [unit, size] of [['d', DAY], ['h', HOUR], ['m', MINUTE], ['s', 1]] as const) {
    const n = Math.floor(s / size);
    if (n > 0) parts.push(`${n}${unit}`);
    s -= n * size;
  }
  return parts.slice(0, 2).join('');
}
