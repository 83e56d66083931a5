// Small network helpers for integration tests. Deadlines here bound a wait; they are never assertions on speed.
import { connect, createServer } from 'node:net';
import { request } from 'undici';

export interface WaitOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 100 ms). */
  intervalMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tryConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Resolves once a TCP connection to host:port succeeds; rejects after the deadline. */
export async function waitForPort(host: string, port: number, opts: WaitOptions = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (!(await tryConnect(host, port))) {
    if (Date.now() > deadline) throw new Error(`Nothing accepted connections on ${host}:${port} in time`);
    await sleep(opts.intervalMs ?? 100);
  }
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET url with undici and read the whole body as text. */
export async function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  const res = await request(url, { method: 'GET', headers });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** Polls `url` until it answers with `status` (default 200), for servers that take a moment to start. */
export async function waitForHttp(url: string, opts: WaitOptions & { status?: number } = {}): Promise<HttpResult> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last = 'no answer';
  for (;;) {
    try {
      const res = await httpGet(url);
      if (res.status === (opts.status ?? 200)) return res;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer ${opts.status ?? 200} in time (last: ${last})`);
    await sleep(opts.intervalMs ?? 100);
  }
}

/**
 * A free port for a process that binds it later (a daemon, a process replica). Chosen below the kernel's ephemeral
 * range (32768+): a port taken with listen(0) and released is soon handed to another test's listen(0), and the
 * process that binds it later then fails with EADDRINUSE in full-suite runs.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const candidate = 20_000 + Math.floor(Math.random() * 10_000);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer()
        .once('error', () => resolve(false))
        .listen(candidate, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return candidate;
  }
}
