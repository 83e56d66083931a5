/**
 * A minimal deterministic tar writer: POSIX ustar headers with a PAX extended header (typeflag `x`, POSIX.1-2001)
 * for names or link targets that do not fit the 100-byte fields. Owner, group and mtime are always 0, so the
 * bytes depend on paths, modes and contents only.
 */
export type TarEntry =
  | { kind: 'file'; path: string; mode: number; data: Buffer }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'dir'; path: string };

const BLOCK = 512;
const NAME_MAX = 100;

export function* tarChunks(entries: Iterable<TarEntry>): Generator<Buffer> {
  for (const entry of entries) {
    const name = entry.kind === 'dir' ? `${entry.path}/` : entry.path;
    const linkname = entry.kind === 'symlink' ? entry.target : '';
    const pax: Record<string, string> = {};
    if (Buffer.byteLength(name) > NAME_MAX) pax.path = name;
    if (Buffer.byteLength(linkname) > NAME_MAX) pax.linkpath = linkname;
    if (Object.keys(pax).length > 0) {
      const body = paxBody(pax);
      yield header({ name: paxName(name), mode: 0o644, size: body.length, type: 'x', linkname: '' });
      yield* padded(body);
    }
    if (entry.kind === 'file') {
      yield header({ name, mode: entry.mode, size: entry.data.length, type: '0', linkname: '' });
      yield* padded(entry.data);
    } else if (entry.kind === 'symlink') {
      yield header({ name, mode: 0o777, size: 0, type: '2', linkname });
    } else {
      yield header({ name, mode: 0o755, size: 0, type: '5', linkname: '' });
    }
  }
  yield Buffer.alloc(BLOCK * 2); // end of archive: two zero blocks
}

interface Header {
  name: string;
  mode: number;
  size: number;
  type: '0' | '2' | '5' | 'x';
  linkname: string;
}

function header(h: Header): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeString(b, 0, NAME_MAX, h.name);
  writeOctal(b, 100, 8, h.mode);
  writeOctal(b, 108, 8, 0); // uid
  writeOctal(b, 116, 8, 0); // gid
  writeOctal(b, 124, 12, h.size);
  writeOctal(b, 136, 12, 0); // mtime
  b.fill(' ', 148, 156); // the checksum is computed with its own field as spaces
  b.write(h.type, 156, 'ascii');
  writeString(b, 157, NAME_MAX, h.linkname);
  b.write('ustar\u000000', 257, 'binary');
  writeString(b, 265, 32, 'root');
  writeString(b, 297, 32, 'root');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'ascii');
  return b;
}

/** Truncates at a byte boundary; a PAX record carries the full value when it does not fit. */
function writeString(b: Buffer, offset: number, length: number, value: string): void {
  Buffer.from(value).copy(b, offset, 0, length);
}

function writeOctal(b: Buffer, offset: number, length: number, value: number): void {
  b.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, 'ascii');
}

function* padded(data: Buffer): Generator<Buffer> {
  if (data.length > 0) yield data;
  const rest = data.length % BLOCK;
  if (rest !== 0) yield Buffer.alloc(BLOCK - rest);
}

/** Each record is `<length> <key>=<value>\n`, where the length counts its own digits. */
function paxBody(fields: Record<string, string>): Buffer {
  const records = Object.entries(fields).map(([key, value]) => {
    const rest = ` ${key}=${value}\n`;
    const restLen = Buffer.byteLength(rest);
    let len = restLen + 1;
    while (String(len).length + restLen !== len) len = String(len).length + restLen;
    return `${len}${rest}`;
  });
  return Buffer.from(records.join(''));
}

function paxName(name: string): string {
  const base = name.replace(/\/$/, '').split('/').pop() ?? 'entry';
  return `PaxHeader/${Buffer.from(base).subarray(0, 80).toString('utf8')}`;
}
