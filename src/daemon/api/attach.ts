/**
 * The attach tunnel of the control API (src/core/api.ts): `GET /api/runs/:name/attach?replica=N&port=P` (or under
 * `/api/projects/<p>/`) with `Upgrade: dstack-attach` and the token of a member who may write there answers 101 and then carries raw bytes to port P of the replica, or
 * answers `{code, message, hint}` with the error's status and closes. The CLI opens one per local connection; the
 * daemon is the only process that reaches hosts (DESIGN.md §2).
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ATTACH_PROTOCOL } from '../../core/attach/api.js';
import { splice } from '../../core/attach/splice.js';
import { DstackError, InternalError, UserError } from '../../core/errors.js';
import { openReplicaPort, type AttachDeps } from './attach-open.js';
import { authorize, principalOf, splitProject, type AccessOptions } from './scope-access.js';

export interface AttachUpgradeOptions extends Omit<AttachDeps, 'findRun'> {
  /** Whose token may open a tunnel, and to which project's runs (`findRun` looks in that project only). */
  access: AccessOptions<Pick<AttachDeps, 'findRun'>>;
  log: (line: string) => void;
}

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

const ATTACH_PATH = /^\/api\/runs\/([^/]+)\/attach\/?$/;

export function createAttachUpgrade(o: AttachUpgradeOptions): UpgradeHandler {
  return (req, socket, head) => {
    // A client gone before the answer must not surface as an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const { project, path } = splitProject(url.pathname);
      const m = ATTACH_PATH.exec(path);
      if (!m) throw new UserError('NOT_FOUND', `${url.pathname} has no upgrade`, { status: 404 });
      // A tunnel reaches into a replica's container: as much as changing the run, so `write`.
      const scope = authorize(principalOf(req, o.access), project, 'write', o.access);
      if (req.headers.upgrade?.toLowerCase() !== ATTACH_PROTOCOL) {
        throw new UserError('UNSUPPORTED_UPGRADE', `attach upgrades to ${ATTACH_PROTOCOL} only`, { status: 400 });
      }
      const target = await openReplicaPort({ ...o, findRun: (name) => scope.findRun(name) }, decodeURIComponent(m[1]!), intParam(url, 'replica'), intParam(url, 'port'));
      if (socket.destroyed) return void target.destroy();
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${ATTACH_PROTOCOL}\r\n\r\n`);
      if (head.length > 0) target.write(head);
      splice(socket, target);
    })().catch((e: unknown) => refuse(socket, e, o.log));
  };
}

function intParam(url: URL, name: string): number {
  const raw = url.searchParams.get(name) ?? '';
  const n = Number(raw);
  if (raw === '' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UserError('INVALID_REQUEST', `${name}: expected a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** The error as the control API answers it (http.ts sendError), written on the raw socket, then closed. */
function refuse(socket: Duplex, e: unknown, log: (line: string) => void): void {
  const err = e instanceof DstackError ? e : new InternalError('INTERNAL_ERROR', 'internal error in the dstack server', { cause: e });
  if (!(e instanceof DstackError) || err instanceof InternalError) log(`attach error: ${(e as Error)?.stack ?? String(e)}`);
  if (socket.destroyed) return;
  const body = JSON.stringify(err.toWire());
  socket.end(
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
  );
}
