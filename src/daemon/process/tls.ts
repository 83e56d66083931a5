/**
 * The daemon's TLS material: which files (flag, then env, then config.yml `server`), read and checked before the
 * daemon listens, so a wrong path or a broken PEM stops `dstack server` with the file's name instead of failing
 * every handshake later. Errors name the file, never its content (the key must not reach a terminal or a log).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { UserError } from '../../core/errors.js';
import type { HomeConfig } from '../../core/home/config-file.js';
import { decideExposure, type Exposure } from '../../core/home/server-exposure.js';

export interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
}

/** What the listener needs: PEM bytes, and the certificate's path for daemon.json (CLIs pin it). */
export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
  certFile: string;
}

export function resolveExposure(host: string, flags: TlsFlags, env: NodeJS.ProcessEnv, server: HomeConfig['server'], home: string): Exposure {
  // Flags and env are relative to where the command runs; config.yml's paths to the home it lives in.
  const pick = (flag: string | undefined, envValue: string | undefined, configured: string | undefined): string | undefined =>
    flag ? resolve(flag) : envValue ? resolve(envValue) : configured ? (isAbsolute(configured) ? configured : resolve(home, configured)) : undefined;
  const insecureEnv = env.DSTACK_SERVER_INSECURE_HTTP;
  return decideExposure({
    host,
    cert: pick(flags.tlsCert, env.DSTACK_SERVER_TLS_CERT, server.tls_cert),
    key: pick(flags.tlsKey, env.DSTACK_SERVER_TLS_KEY, server.tls_key),
    insecureHttp: flags.insecureHttp ?? (insecureEnv ? ['1', 'true', 'yes'].includes(insecureEnv.toLowerCase()) : server.insecure_http === true),
  });
}

export async function loadTlsCredentials(files: { cert: string; key: string }): Promise<TlsCredentials> {
  const cert = await readPem(files.cert, 'certificate');
  const key = await readPem(files.key, 'private key');
  try {
    new X509Certificate(cert);
  } catch (e) {
    throw invalid(files.cert, 'is not a PEM certificate', e);
  }
  try {
    createPrivateKey(key);
  } catch (e) {
    throw invalid(files.key, 'is not a PEM private key (encrypted keys are not supported)', e);
  }
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw invalid(files.key, `does not match the certificate in ${files.cert}`, e);
  }
  return { cert, key, certFile: files.cert };
}

async function readPem(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UserError('TLS_FILE_UNREADABLE', `Cannot read the TLS ${what} ${file} (${code})`, { hint: 'Check the path and that the file is readable by this user.' });
  }
}

// OpenSSL's own message may quote bytes it choked on; only its error code goes out, so no key material can.
function invalid(file: string, what: string, e: unknown): UserError {
  const code = (e as { code?: unknown }).code;
  return new UserError('TLS_FILE_INVALID', `${file} ${what}${typeof code === 'string' ? ` (${code})` : ''}`, {
    hint: 'Use PEM files, e.g. from `openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem`.',
  });
}
