/**
 * The proxy's idle limit per service (`stream_idle_timeout`): how long a proxied request may go without a byte in
 * either direction. It replaces a fixed 60 s per-read timeout, which cut LLM streams whose first token comes after a
 * long prefill (dstack #3274, #4239). `DSTACK_SERVICE_CLIENT_TIMEOUT` keeps its dstack meaning as the server-wide
 * value, now only the default of services that do not set the field.
 */
import type { RunSettings } from '../state/schema.js';

/** Minutes, not seconds: a long-context prefill on a busy GPU takes minutes before the first token. */
export const DEFAULT_STREAM_IDLE_SECONDS = 600;

/** The daemon-wide default in ms: `DSTACK_SERVICE_CLIENT_TIMEOUT` (seconds, as in dstack) when set and valid. */
export function defaultStreamIdleMs(env: NodeJS.ProcessEnv): number {
  const raw = env.DSTACK_SERVICE_CLIENT_TIMEOUT;
  const seconds = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
  return (Number.isFinite(seconds) && seconds >= 0 ? seconds : DEFAULT_STREAM_IDLE_SECONDS) * 1000;
}

/** The config field as stored in the run settings: seconds, 0 for `off` (undici reads 0 as "no timeout"). */
export function streamIdleSetting(field: number | 'off' | undefined): Pick<RunSettings, 'streamIdleTimeoutSeconds'> {
  if (field === undefined) return {};
  return { streamIdleTimeoutSeconds: field === 'off' ? 0 : field };
}

/** A route's idle limit in ms (0 = none): the service's own field, else the daemon's default. */
export function streamIdleMs(settings: Pick<RunSettings, 'streamIdleTimeoutSeconds'>, daemonDefaultMs: number): number {
  const own = settings.streamIdleTimeoutSeconds;
  return own === undefined ? daemonDefaultMs : own * 1000;
}
