/**
 * Whether the daemon may listen where it was asked to, decided before it listens: the admin and project tokens
 * are bearer tokens, so plain HTTP off loopback hands them to anyone on the path. Off loopback the daemon serves
 * TLS, or plain HTTP only when the user said `--insecure-http`.
 */
import { UserError } from '../errors.js';

export interface TlsFiles {
  cert: string;
  key: string;
}

export interface ExposureInput {
  host: string;
  /** From flags, env or config.yml (already merged, flag first); either alone is an error. */
  cert?: string | undefined;
  key?: string | undefined;
  insecureHttp: boolean;
}

export type Exposure = { scheme: 'https'; tls: TlsFiles } | { scheme: 'http'; insecure: boolean };

/** `localhost`, 127.0.0.0/8, ::1 and the v4-mapped loopback; a name other than `localhost` could resolve anywhere. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const lower = h.toLowerCase();
  if (lower === 'localhost') return true;
  if (/^127(\.\d{1,3}){3}$/.test(lower)) return true;
  return lower === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(lower) || /^::ffff:127(\.\d{1,3}){3}$/.test(lower);
}

export function decideExposure(input: ExposureInput): Exposure {
  const { cert, key } = input;
  if (cert && !key) throw missing('--tls-key', '--tls-cert', 'DSTACK_SERVER_TLS_KEY', 'tls_key');
  if (key && !cert) throw missing('--tls-cert', '--tls-key', 'DSTACK_SERVER_TLS_CERT', 'tls_cert');
  if (cert && key) return { scheme: 'https', tls: { cert, key } };
  if (!isLoopbackHost(input.host) && !input.insecureHttp) {
    throw new UserError('PLAIN_HTTP_OFF_LOOPBACK', `Refusing to serve plain HTTP on ${input.host}: tokens would cross the network unencrypted`, {
      hint: 'Pass --tls-cert FILE --tls-key FILE to serve HTTPS, or --insecure-http to accept plain HTTP (e.g. behind a TLS-terminating proxy).',
    });
  }
  return { scheme: 'http', insecure: !isLoopbackHost(input.host) };
}

function missing(flag: string, given: string, env: string, key: string): UserError {
  return new UserError('TLS_FLAG_MISSING', `${flag} is missing: ${given} was given without it`, {
    hint: `Pass both --tls-cert and --tls-key, or neither; ${flag} may also come from env ${env} or config.yml server.${key}.`,
  });
}
