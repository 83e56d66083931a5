/**
 * The one SSH connection the daemon keeps to a fleet host (DESIGN.md §2): the agent API and every replica's
 * traffic are channels of it. ssh2 keepalives (5 s × 3) notice a dead host within ~20 s; the link then reports
 * it unreachable and reconnects with backoff (1 s doubling to 30 s) until the host answers again or the link is
 * closed. Dispatchers hold the link, not a client, so they work again after a reconnect without being rebuilt.
 */
import type { Client } from 'ssh2';
import type { DstackError } from '../../core/errors.js';
import type { SshTarget } from '../../core/fleets/types.js';
import { hostKeyName, openSsh, type SshConnection } from './connect.js';
import type { KnownHosts } from './known-hosts.js';

export type HostKeyListener = (host: string, status: 'known' | 'stored', fingerprint: string) => void;

export const BACKOFF_MIN_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;

export interface HostLinkOptions {
  knownHosts: KnownHosts;
  log: (line: string) => void;
  clock: () => number;
  onReachability?: (reachable: boolean, error?: Error) => void;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
}

export class HostLink {
  private connection: SshConnection | undefined;
  private connecting: Promise<Client> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private backoffMs = BACKOFF_MIN_MS;
  private closed = false;
  private lostAt = 0;
  private down = false;
  /** SHA256 fingerprint of the target's host key, once a connection verified it. */
  fingerprint: string | undefined;

  constructor(
    readonly target: SshTarget,
    private readonly options: HostLinkOptions,
  ) {}

  /** The live client, or undefined while the host is unreachable. */
  current(): Client | undefined {
    return this.connection?.client;
  }

  /** Whether a connection was lost and is being re-established with backoff (the host is unreachable now). */
  isDown(): boolean {
    return this.down && !this.connection;
  }

  /** The live client, connecting first if needed; connection failures are thrown typed (SSH_UNREACHABLE…). */
  connect(signal?: AbortSignal, onHostKey?: HostKeyListener): Promise<Client> {
    const live = this.current();
    if (live) return Promise.resolve(live);
    this.connecting ??= this.open(signal, onHostKey).finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** Ends the connection for good: no reconnect, no reachability callbacks. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    const c = this.connection;
    this.connection = undefined;
    c?.end();
  }

  private async open(signal?: AbortSignal, onHostKey?: HostKeyListener): Promise<Client> {
    const self = hostKeyName(this.target);
    const connection = await openSsh(this.target, {
      knownHosts: this.options.knownHosts,
      keepaliveIntervalMs: this.options.keepaliveIntervalMs ?? 5_000,
      keepaliveCountMax: this.options.keepaliveCountMax ?? 3,
      onHostKey: (host, status, fingerprint) => {
        if (host === self) this.fingerprint = fingerprint;
        onHostKey?.(host, status, fingerprint);
      },
      ...(signal ? { signal } : {}),
    });
    if (this.closed) {
      connection.end();
      throw new Error(`the SSH link to ${this.target.instance} was closed`);
    }
    this.attach(connection);
    return connection.client;
  }

  private attach(connection: SshConnection): void {
    this.connection = connection;
    this.down = false;
    this.backoffMs = BACKOFF_MIN_MS;
    let lastError: Error | undefined;
    connection.client.on('error', (e: Error) => (lastError = e));
    connection.client.once('close', () => {
      if (this.connection !== connection) return;
      this.connection = undefined;
      if (this.closed) return;
      this.lostAt = this.options.clock();
      this.down = true;
      this.options.log(`ssh: lost the connection to ${this.target.instance} (${lastError?.message ?? 'closed'}); reconnecting`);
      this.options.onReachability?.(false, lastError);
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    this.retry = setTimeout(() => {
      this.connect().then(
        () => {
          this.options.log(`ssh: reconnected to ${this.target.instance} after ${((this.options.clock() - this.lostAt) / 1000).toFixed(1)} s`);
          this.options.onReachability?.(true);
        },
        (e: DstackError) => {
          if (this.closed) return;
          this.options.log(`ssh: ${this.target.instance} still unreachable (${e.code ?? e.message}); next try in ${this.backoffMs / 1000} s`);
          this.scheduleReconnect();
        },
      );
    }, delay);
    this.retry.unref();
  }
}
