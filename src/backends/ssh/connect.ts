/**
 * Opens one verified ssh2 connection to a fleet host, directly or through its `proxy_jump` head node (a
 * forwardOut channel from the jump host used as the target's socket). ssh2 errors are mapped here, where they
 * enter, by their `level` (never by message text): SSH_AUTH_FAILED, SSH_UNREACHABLE, HOST_KEY_CHANGED.
 */
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';
import { loadSsh2 } from './ssh2.js';
import { DstackError, InternalError, UserError } from '../../core/errors.js';
import type { SshTarget } from '../../core/fleets/types.js';
import { hostPattern, type KnownHosts } from './known-hosts.js';

export const SSH_CONNECT_TIMEOUT_MS = 10_000;

export interface Endpoint {
  hostname: string;
  port: number;
  user: string;
  identityFile: string;
  /** known_hosts name of its key instead of `[host]:port` (cloud instances: the instance id). */
  hostKeyAlias?: string;
}

/** The name a host's key is stored under in known_hosts. */
export function hostKeyName(end: Pick<Endpoint, 'hostname' | 'port' | 'hostKeyAlias'>): string {
  return end.hostKeyAlias ?? hostPattern(end.hostname, end.port);
}

export interface ConnectOptions {
  knownHosts: KnownHosts;
  timeoutMs?: number;
  /** ssh2 keepalive: a dead host is noticed after interval × countMax. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** A host key was accepted: `stored` on first contact, `known` when it matched (`host` is its hostKeyName). */
  onHostKey?: (host: string, status: 'known' | 'stored', fingerprint: string) => void;
  signal?: AbortSignal;
}

export interface SshConnection {
  client: Client;
  /** Ends the connection (and the jump connection under it). */
  end(): void;
}

export async function openSsh(target: Pick<SshTarget, 'hostname' | 'port' | 'user' | 'identityFile' | 'proxyJump' | 'hostKeyAlias'>, options: ConnectOptions): Promise<SshConnection> {
  if (!target.proxyJump) {
    const client = await connectOne(target, options);
    return { client, end: () => client.end() };
  }
  const jump = await connectOne(target.proxyJump, options);
  try {
    const channel = await new Promise<Duplex>((resolve, reject) =>
      jump.forwardOut('127.0.0.1', 0, target.hostname, target.port, (err, ch) => (err ? reject(err) : resolve(ch))),
    ).catch((e: unknown) => {
      throw new UserError('SSH_UNREACHABLE', `${hostPattern(target.hostname, target.port)} is unreachable from the proxy_jump host ${target.proxyJump?.hostname} (${(e as Error).message})`, {
        cause: e,
        hint: 'Check the address from the head node: `ssh -J <jump> <host>` must work.',
      });
    });
    const client = await connectOne(target, options, channel);
    client.once('close', () => jump.end());
    return {
      client,
      end: () => {
        client.end();
        jump.end();
      },
    };
  } catch (e) {
    jump.end();
    throw e;
  }
}

async function privateKey(file: string): Promise<Buffer> {
  const key = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new UserError('SSH_KEY_UNREADABLE', `cannot read the identity file ${file} (${e.code ?? e.message})`, {
      hint: 'Set ssh_config.identity_file to a private key readable by the user running dstack.',
    });
  });
  const { utils } = await loadSsh2();
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) {
    throw new UserError('SSH_KEY_INVALID', `the identity file ${file} is not a usable private key (encrypted keys are not supported)`, {
      hint: 'Use an unencrypted OpenSSH or PEM private key for the fleet.',
    });
  }
  return key;
}

function connectOne(end: Endpoint, options: ConnectOptions, sock?: Duplex): Promise<Client> {
  const where = hostPattern(end.hostname, end.port);
  const timeoutMs = options.timeoutMs ?? SSH_CONNECT_TIMEOUT_MS;
  return Promise.all([privateKey(end.identityFile), loadSsh2()]).then(
    ([key, ssh2]) =>
      new Promise<Client>((resolve, reject) => {
        const client = new ssh2.Client();
        let refused: DstackError | undefined;
        let settled = false;
        const fail = (e: DstackError) => {
          if (settled) return;
          settled = true;
          options.signal?.removeEventListener('abort', onAbort);
          client.end();
          reject(e);
        };
        const onAbort = () => fail(new InternalError('ABORTED', `connecting to ${where} was aborted`, { status: 499 }));
        if (options.signal?.aborted) return onAbort();
        options.signal?.addEventListener('abort', onAbort, { once: true });
        client.once('ready', () => {
          if (settled) return void client.end();
          settled = true;
          // Request/response traffic over channels: Nagle + delayed ACK would add ~40 ms to every small exchange.
          client.setNoDelay(true);
          options.signal?.removeEventListener('abort', onAbort);
          resolve(client);
        });
        client.on('error', (e: Error & { level?: string; code?: string }) => {
          if (settled) return;
          fail(refused ?? mapSshError(e, end, where, timeoutMs));
        });
        client.once('close', () => fail(refused ?? new UserError('SSH_UNREACHABLE', `${where} closed the connection during the SSH handshake`)));
        client.connect({
          host: end.hostname,
          port: end.port,
          username: end.user,
          privateKey: key,
          readyTimeout: timeoutMs,
          keepaliveInterval: options.keepaliveIntervalMs ?? 5_000,
          keepaliveCountMax: options.keepaliveCountMax ?? 3,
          ...(sock ? { sock } : {}),
          hostVerifier: (blob: Buffer, verify: (ok: boolean) => void) => {
            options.knownHosts.check(end.hostname, end.port, blob, end.hostKeyAlias).then(
              (check) => {
                if (check.status === 'changed') refused = check.error;
                else options.onHostKey?.(hostKeyName(end), check.status, check.fingerprint);
                verify(check.status !== 'changed');
              },
              (e: unknown) => {
                refused = new InternalError('KNOWN_HOSTS_UNREADABLE', `cannot use ${options.knownHosts.file}: ${(e as Error).message}`, { cause: e });
                verify(false);
              },
            );
          },
        });
      }),
  );
}

function mapSshError(e: Error & { level?: string; code?: string }, end: Endpoint, where: string, timeoutMs: number): DstackError {
  if (e.level === 'client-authentication') {
    return new UserError('SSH_AUTH_FAILED', `SSH authentication failed for ${end.user}@${where} with the key ${end.identityFile}`, {
      cause: e,
      hint: `Add the public key of ${end.identityFile} to ~${end.user}/.ssh/authorized_keys on ${end.hostname}, or fix ssh_config.user / identity_file.`,
    });
  }
  if (e.level === 'client-timeout') {
    return new UserError('SSH_UNREACHABLE', `${where} did not complete an SSH handshake within ${timeoutMs / 1000} s`, {
      cause: e,
      hint: `Check that ${end.hostname} is up and that port ${end.port} is open to this machine.`,
    });
  }
  if (e.level === 'client-socket' || e.level === 'client-dns') {
    return new UserError('SSH_UNREACHABLE', `cannot reach ${where} over SSH (${e.code ?? e.level})`, {
      cause: e,
      hint: `Check that ${end.hostname} is up and that port ${end.port} is open to this machine.`,
    });
  }
  return new UserError('SSH_FAILED', `SSH to ${end.user}@${where} failed (${e.code ?? e.level ?? 'protocol error'})`, { cause: e });
}
