import { Transform, type TransformCallback } from 'node:stream';

/**
 * Demultiplexes Docker's non-TTY log stream (8-byte frame headers: stream type, 3 zero bytes, big-endian
 * length) into the raw bytes of stdout and stderr, interleaved as Docker sent them. Payloads are passed
 * through as bytes, so invalid UTF-8 and lines of any length cannot break the stream.
 */
export class DockerLogDemuxer extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, buf.length);
        this.push(buf.subarray(0, take));
        this.remaining -= take;
        buf = buf.subarray(take);
        continue;
      }
      if (buf.length < 8) {
        this.pending = Buffer.from(buf);
        break;
      }
      this.remaining = buf.readUInt32BE(4);
      buf = buf.subarray(8);
    }
    done();
  }
}

/** Demultiplexes a complete (non-streamed) log buffer, as returned by `container.logs({follow: false})`. */
export function demuxBuffer(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buf.length) {
    const length = buf.readUInt32BE(offset + 4);
    parts.push(buf.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return Buffer.concat(parts);
}

/** The last `n` non-empty lines of a log, decoded leniently (invalid bytes become U+FFFD), each capped in length. */
export function lastLines(log: Buffer | string, n: number, maxLineLength = 500): string[] {
  const text = typeof log === 'string' ? log : log.toString('utf8');
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim().length > 0)
    .slice(-n)
    .map((l) => (l.length > maxLineLength ? `${l.slice(0, maxLineLength)}…` : l));
}
