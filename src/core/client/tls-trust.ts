/**
 * How a CLI on the daemon's machine trusts an https daemon: the certificate file the daemon serves (daemon.json's
 * `tlsCert`, or config.yml/env when no daemon.json exists yet) joins the system roots, and the daemon's identity
 * is that exact certificate (its SHA-256 fingerprint) rather than a hostname: the CLI connects to 127.0.0.1 while
 * the certificate names the server's public name. Verification stays on; any other certificate still needs a
 * valid chain and a matching hostname. Remote https URLs without a pinned file use Node's default checks.
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest, type ClientRequest, type RequestOptions } from 'node:http';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import { UserError } from '../errors.js';

// node:https, node:tls and node:crypto only when https is used: loading them cost `ps` ~8 ms against a plain-HTTP
// local daemon (issue 15).
const httpsModule = () => process.getBuiltinModule('node:https');
const tlsModule = () => process.getBuiltinModule('node:tls');

/** TLS options for node:https and undici's `connect`; empty for plain HTTP. */
export type DaemonTls = Pick<ConnectionOptions, 'ca' | 'checkServerIdentity'>;

export async function pinnedTrust(certFile: string): Promise<DaemonTls> {
  let pem: string;
  let pinned: string;
  try {
    pem = await readFile(certFile, 'utf8');
    pinned = new (process.getBuiltinModule('node:crypto').X509Certificate)(pem).fingerprint256;
  } catch (e) {
    throw new UserError('DAEMON_CERT_UNREADABLE', `Cannot use the dstack server's certificate ${certFile}`, {
      cause: e,
      hint: 'The daemon serves HTTPS with this file; make it readable by this user, or restart the server with a valid --tls-cert.',
    });
  }
  return {
    ca: [...tlsModule().rootCertificates, pem],
    checkServerIdentity: (host: string, cert: PeerCertificate) => (cert.fingerprint256 === pinned ? undefined : tlsModule().checkServerIdentity(host, cert)),
  };
}

export function isHttps(origin: string): boolean {
  return origin.startsWith('https:');
}

/** node:http or node:https by the origin's scheme, with the pinned trust for https. */
export function requestTo(url: string, options: RequestOptions, tls: DaemonTls = {}): ClientRequest {
  return isHttps(url) ? httpsModule().request(url, { ...options, ...tls }) : httpRequest(url, options);
}

export function keepAliveAgent(origin: string, tls: DaemonTls, options: { maxSockets: number }) {
  return isHttps(origin) ? new (httpsModule().Agent)({ keepAlive: true, ...options, ...tls }) : undefined;
}

// OpenSSL's verification results (X509_V_ERR_* as Node names them) and Node's own TLS codes.
const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$)/;

/** A failed handshake or certificate check, by error code: the daemon answered, but not as one we trust. */
export function isTlsError(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && TLS_CODES.test(code);
}
