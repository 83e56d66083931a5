/**
 * What `dstack attach` says around the logs, on stderr (stdout carries the replica's log bytes only): the forwarded
 * ports as dstack lists them (local -> remote, with the URL to open), waiting, per-connection failures, the end.
 */
import type { AttachInfo } from '../core/attach/api.js';
import { isDstackError } from '../core/errors.js';
import type { Painter } from './colors.js';

export interface ForwardedPortView {
  host: string;
  local: number;
  remote: number;
}

export function formatAttached(run: string, replica: number, ports: readonly ForwardedPortView[], p: Painter): string {
  const lines = [`Attached to run ${p.bold(run)} (replica=${replica})`, 'Forwarded ports (local -> remote):'];
  for (const f of ports) lines.push(`  - ${p.paint(`http://${f.host}:${f.local}`, 'cyan')} -> ${f.remote}`);
  lines.push('Press Ctrl+C to detach...');
  return lines.join('\n');
}

export function formatWaiting(info: AttachInfo, p: Painter): string {
  const r = info.replica;
  const state = r ? `replica ${r.num} is ${p.status(r.status)}` : `no replica yet, run is ${p.status(info.runStatus)}`;
  return `Waiting for ${info.run} to run (${state})...`;
}

/** One connection that could not be forwarded; the others and the listener carry on. */
export function formatConnectionError(f: ForwardedPortView, e: unknown, p: Painter): string {
  const message = e instanceof Error ? e.message : String(e);
  const hint = isDstackError(e) && e.hint ? p.dim(` (${e.hint})`) : '';
  return `${p.paint('Connection failed', 'red')} ${f.host}:${f.local} -> ${f.remote}: ${message}${hint}`;
}

export function formatLogsError(e: unknown, p: Painter): string {
  return `${p.paint('Logs unavailable', 'gold')}: ${e instanceof Error ? e.message : String(e)} (forwarding goes on)`;
}

export function formatFinished(info: AttachInfo, p: Painter): string {
  return `Run ${info.run} is ${p.status(info.runStatus)}`;
}
