// Traffic from the test machines may only go to loopback and the namespace hosts a test created (DESIGN.md §6):
// moto invents public addresses, and a product bug that used one would reach out. In the test process, this wraps
// net.Socket.prototype.connect (what net, tls, http, undici and ssh2 all end up calling): a connection to anything
// else throws, and is recorded so `expectNoForeignConnections()` fails the test even if the error was swallowed.
import net from 'node:net';
import { afterAll, afterEach, beforeAll } from 'vitest';

export interface ConnectGuard {
  /** Allows these addresses (namespace test hosts) besides loopback. */
  allow(...addresses: string[]): void;
  /** Connections refused so far. */
  refused(): readonly string[];
  /** Throws, listing them, if anything was refused since the last check. */
  expectNoForeignConnections(): void;
  uninstall(): void;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+|localhost)$/i;

type Connect = (...args: unknown[]) => net.Socket;

export function installConnectGuard(): ConnectGuard {
  const allowed = new Set<string>();
  const refused: string[] = [];
  const original = net.Socket.prototype.connect as unknown as Connect;
  const guarded = function (this: net.Socket, ...args: unknown[]): net.Socket {
    const target = targetOf(args);
    if (target && !LOOPBACK.test(target.host) && !allowed.has(target.host)) {
      const where = `${target.host}:${target.port}`;
      refused.push(where);
      throw new Error(`connect-guard: refused a connection to ${where}: tests may only reach loopback and their namespace hosts`);
    }
    return original.apply(this, args);
  };
  net.Socket.prototype.connect = guarded as unknown as typeof net.Socket.prototype.connect;
  return {
    allow: (...addresses) => addresses.forEach((a) => allowed.add(a)),
    refused: () => refused,
    expectNoForeignConnections: () => {
      const seen = refused.splice(0);
      if (seen.length > 0) throw new Error(`connections outside loopback and the test hosts were attempted: ${seen.join(', ')}`);
    },
    uninstall: () => {
      if (net.Socket.prototype.connect === (guarded as unknown)) net.Socket.prototype.connect = original as unknown as typeof net.Socket.prototype.connect;
    },
  };
}

/** host and port of a connect() call; undefined for a unix socket path (local IPC, always allowed). */
function targetOf(args: unknown[]): { host: string; port: string } | undefined {
  // net normalizes connect(port, host, cb) into [options, cb] before it reaches the prototype method.
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  if (typeof first === 'object' && first !== null) {
    const o = first as { path?: unknown; host?: unknown; port?: unknown };
    if (typeof o.path === 'string') return undefined;
    return { host: typeof o.host === 'string' ? o.host : 'localhost', port: String(o.port) };
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return undefined;
  return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: String(first) };
}

/** The guard for a whole test file: installed in beforeAll, checked after each test, removed in afterAll. */
export function useConnectGuard(): Pick<ConnectGuard, 'allow' | 'refused'> {
  let guard: ConnectGuard | undefined;
  const pending: string[] = [];
  beforeAll(() => {
    guard = installConnectGuard();
    guard.allow(...pending);
  });
  afterEach(() => guard?.expectNoForeignConnections());
  afterAll(() => guard?.uninstall());
  return {
    allow: (...a) => (guard ? guard.allow(...a) : pending.push(...a)),
    refused: () => guard?.refused() ?? [],
  };
}
