/**
 * The fast path's reading of a replica's response (RFC 9112 §4–§7): the status line and fields, the head relayed
 * to the client (hop-by-hop fields dropped as headers.ts drops them on the node:http path), how the body is framed,
 * and whether the replica's connection may carry another request. The body itself is relayed as it arrives: a
 * chunked body keeps its chunks (the scanner below only finds where it ends), so streams stay unbuffered.
 */
import { STATUS_CODES } from 'node:http';
import { HOP_BY_HOP } from '../http/headers.js';
import { fieldValue } from './request-head.js';

const HEAD = /^HTTP\/1\.([01]) (\d{3})(?: ([\t\x20-\x7e\x80-\xff]*))?(?:\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e\x80-\xff]*)*$/;

export const enum Framing {
  /** HEAD, 204, 304: no body whatever the fields say. */
  None,
  Length,
  Chunked,
  /** Neither Content-Length nor chunked: the body ends when the replica closes (the client connection closes too). */
  Close,
}

export interface ResponseHead {
  status: number;
  /** 1xx interim answer: not relayed (node:http's path drops them too); the final head follows. */
  interim: boolean;
  /** What the client gets, the blank line included. */
  clientHead: string;
  framing: Framing;
  /** Body bytes when `framing` is Length. */
  length: number;
  /** The replica keeps the connection open for the next request. */
  reusable: boolean;
  /** `Keep-Alive: timeout=N` of the replica, in ms: its idle connection must not be reused that late. */
  keepAliveMs: number | undefined;
}

const HOP_LENGTHS = new Uint8Array(32);
for (const name of [...HOP_BY_HOP, 'content-length']) HOP_LENGTHS[name.length] = 1;

/** `head` without its final CR LF CR LF; undefined when it is not a valid HTTP/1.x response head (a 502). */
export function readResponseHead(head: string, method: string): ResponseHead | undefined {
  const m = HEAD.exec(head);
  if (!m) return undefined;
  const http10 = m[1] === '0';
  const status = Number(m[2]);
  if (status < 100) return undefined;
  // 101 answers an upgrade, which this path never sends.
  if (status < 200) return status === 101 ? undefined : interimHead(status);
  let fields = '';
  let length = -1;
  let chunked = false;
  let codings = false;
  let reusable = !http10;
  let keepAliveMs: number | undefined;
  let listed: string[] | undefined;
  let at = head.indexOf('\r\n');
  while (at >= 0) {
    const next = head.indexOf('\r\n', at + 2);
    const line = next < 0 ? head.slice(at + 2) : head.slice(at + 2, next);
    at = next;
    const colon = line.indexOf(':');
    if (colon < 32 && HOP_LENGTHS[colon] === 1) {
      const lower = line.slice(0, colon).toLowerCase();
      const value = fieldValue(line, colon + 1);
      if (lower === 'content-length') {
        // One decimal length: a repeated one, even equal, is refused as llhttp (the node:http path) refuses it.
        if (length >= 0 || !/^\d{1,15}$/.test(value)) return undefined;
        length = Number(value);
      } else if (HOP_BY_HOP.has(lower)) {
        if (lower === 'transfer-encoding') {
          codings = true;
          chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
        } else if (lower === 'connection') {
          const tokens = value.toLowerCase().split(',').map((t) => t.trim());
          if (tokens.includes('close')) reusable = false;
          if (tokens.includes('keep-alive') && http10) reusable = true;
          const named = tokens.filter((t) => t !== 'close' && t !== 'keep-alive' && t !== '');
          if (named.length > 0) listed = [...(listed ?? []), ...named];
        } else if (lower === 'keep-alive') {
          const t = /timeout=(\d+)/i.exec(value);
          if (t) keepAliveMs = Number(t[1]) * 1000;
        }
        continue;
      }
    }
    fields += `${line}\r\n`;
  }
  // Fields a Connection header named are hop-by-hop too; only then is a second pass needed.
  if (listed !== undefined) fields = dropListed(fields, listed);
  // Transfer-Encoding with Content-Length (RFC 9112 §6.3 item 3): the coding wins, and the length must not reach the client.
  if (codings && length >= 0) fields = dropListed(fields, ['content-length']);
  let kept = `HTTP/1.1 ${status} ${m[3] || STATUS_CODES[status] || ''}\r\n${fields}`;
  let framing: Framing;
  if (method === 'HEAD' || status === 204 || status === 304) framing = Framing.None;
  else if (codings) framing = chunked ? Framing.Chunked : Framing.Close;
  else if (length >= 0) framing = Framing.Length;
  else framing = Framing.Close;
  if (codings && length >= 0) reusable = false;
  if (framing === Framing.Chunked) kept += 'transfer-encoding: chunked\r\n';
  if (framing === Framing.Close) {
    kept += 'connection: close\r\n';
    reusable = false;
  }
  return { status, interim: false, clientHead: `${kept}\r\n`, framing, length: Math.max(length, 0), reusable, keepAliveMs };
}

function dropListed(fields: string, listed: readonly string[]): string {
  return fields
    .split('\r\n')
    .filter((line) => line !== '' && !listed.includes(line.slice(0, line.indexOf(':')).toLowerCase()))
    .map((line) => `${line}\r\n`)
    .join('');
}

function interimHead(status: number): ResponseHead {
  return { status, interim: true, clientHead: '', framing: Framing.None, length: 0, reusable: true, keepAliveMs: undefined };
}

const enum Chunk {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerLine,
  TrailerLf,
  EndLf,
}

/** Finds where a chunked body ends (RFC 9112 §7.1), across reads, without copying it. */
export class ChunkedScanner {
  private state = Chunk.Size;
  private size = 0;
  private digits = 0;
  private left = 0;

  reset(): void {
    this.state = Chunk.Size;
    this.size = 0;
    this.digits = 0;
    this.left = 0;
  }

  /** The index just after the body's end within `buf` (from `start`), -1 when it goes on, -2 on a framing error. */
  scan(buf: Buffer, start: number): number {
    let i = start;
    const n = buf.length;
    while (i < n) {
      const c = buf[i]!;
      switch (this.state) {
        case Chunk.Size: {
          const d = hexValue(c);
          if (d >= 0) {
            if (++this.digits > 12) return -2;
            this.size = this.size * 16 + d;
          } else if (this.digits === 0) {
            return -2;
          } else if (c === 0x3b || c === 0x20 || c === 0x09) {
            this.state = Chunk.Extension;
          } else if (c === 0x0d) {
            this.state = Chunk.SizeLf;
          } else {
            return -2;
          }
          i++;
          break;
        }
        case Chunk.Extension:
          if (c === 0x0d) this.state = Chunk.SizeLf;
          else if (c === 0x0a) return -2;
          i++;
          break;
        case Chunk.SizeLf:
          if (c !== 0x0a) return -2;
          i++;
          if (this.size === 0) {
            this.state = Chunk.TrailerStart;
          } else {
            this.left = this.size;
            this.state = Chunk.Data;
          }
          this.size = 0;
          this.digits = 0;
          break;
        case Chunk.Data: {
          const take = Math.min(this.left, n - i);
          this.left -= take;
          i += take;
          if (this.left === 0) this.state = Chunk.DataCr;
          break;
        }
        case Chunk.DataCr:
          if (c !== 0x0d) return -2;
          this.state = Chunk.DataLf;
          i++;
          break;
        case Chunk.DataLf:
          if (c !== 0x0a) return -2;
          this.state = Chunk.Size;
          i++;
          break;
        case Chunk.TrailerStart:
          this.state = c === 0x0d ? Chunk.EndLf : Chunk.TrailerLine;
          if (c === 0x0a) return -2;
          i++;
          break;
        case Chunk.TrailerLine:
          if (c === 0x0d) this.state = Chunk.TrailerLf;
          else if (c === 0x0a) return -2;
          i++;
          break;
        case Chunk.TrailerLf:
          if (c !== 0x0a) return -2;
          this.state = Chunk.TrailerStart;
          i++;
          break;
        case Chunk.EndLf:
          if (c !== 0x0a) return -2;
          this.reset();
          return i + 1;
      }
    }
    return -1;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
