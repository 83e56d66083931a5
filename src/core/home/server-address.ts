/**
 * Where the daemon listens and how to reach it, decided once for `dstack server` and for the CLI that looks for
 * it: if the two disagreed, a CLI would knock on a door the daemon never opened.
 */
import { UserError } from '../errors.js';

/**
 * The URL to connect to a daemon listening on `host:port`. The wildcard addresses are listen addresses, not
 * destinations: `0.0.0.0` (or an empty host) answers on IPv4 loopback, `::` on IPv6 loopback (`::1` is reachable
 * whether or not the socket also takes IPv4). IPv6 literals get brackets (RFC 3986 §3.2.2).
 */
export function daemonUrl(host: string, port: number, scheme: 'http' | 'https' = 'http'): string {
  const h = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${scheme}://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`;
}

/**
 * DSTACK_SERVER_PORT, or undefined when unset or empty; anything but an integer in 0..65535 is an error naming the
 * variable. 0 asks the daemon for a free port; CLIs then find it through daemon.json.
 */
export function serverPortFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.DSTACK_SERVER_PORT;
  if (raw === undefined || raw.trim() === '') return undefined;
  const port = /^\s*\d{1,5}\s*$/.test(raw) ? Number(raw) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new UserError('INVALID_ENV', `DSTACK_SERVER_PORT=${JSON.stringify(raw)} is not a port number`, { hint: 'Use 1..65535, or 0 for a free one.' });
  }
  return port;
}
