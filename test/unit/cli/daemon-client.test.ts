/**
 * The daemon client against real HTTP servers on 127.0.0.1 port 0 that speak the control API (our own
 * interface; the daemon itself is covered by the e2e tests). Auto-start is exercised with an injected spawner.
 */
import { createServer, type Server, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDaemon, type SpawnDaemon } from '../../../src/core/client/index.js';
import { resolveHome } from '../../../src/core/home/paths.js';
import { isDstackError } from '../../../src/core/errors.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(handler: RequestListener): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function daemonHandler(home: string, extra?: RequestListener): RequestListener {
  return (req, res) => {
    if (req.url === '/api/health') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ version: 't', pid: 1, uptimeSeconds: 0, home }));
      return;
    }
    if (extra) return extra(req, res);
    res.statusCode = 404;
    res.end(JSON.stringify({ code: 'RUN_NOT_FOUND', message: 'Run x not found', hint: 'dstack ps' }));
  };
}

async function freePort(): Promise<number> {
  const port = await listen(() => undefined);
  await new Promise((r) => servers.pop()!.close(r));
  return port;
}

async function newHome() {
  const home = await mkdtemp(join(tmpdir(), 'dstack-cli-'));
  return { home, paths: resolveHome({ DSTACK_HOME: home }) };
}

describe('connectDaemon', () => {
  it('uses the daemon named in daemon.json and turns {code,message,hint} answers into typed errors', async () => {
    const { home, paths } = await newHome();
    let auth = '';
    const port = await listen(daemonHandler(home, (req, res) => {
      auth = req.headers.authorization ?? '';
      res.statusCode = 404;
      res.end(JSON.stringify({ code: 'RUN_NOT_FOUND', message: 'Run x not found', hint: 'Check `dstack ps`' }));
    }));
    await mkdir(paths.serverDir, { recursive: true });
    await writeFile(paths.daemonFile, JSON.stringify({ pid: 1, port, host: '127.0.0.1' }));
    const spawn: SpawnDaemon = () => {
      throw new Error('must not start a daemon');
    };
    const client = await connectDaemon({ env: { DSTACK_HOME: home, DSTACK_SERVER_PORT: String(await freePort()) }, spawnDaemon: spawn });
    const err = await client.getRun('x').catch((e: unknown) => e);
    await client.close();
    expect(isDstackError(err) && [err.code, err.hint, err.userFacing]).toEqual(['RUN_NOT_FOUND', 'Check `dstack ps`', true]);
    const token = /token: (\S+)/.exec(await readFile(paths.configFile, 'utf8'))?.[1];
    expect(auth).toBe(`Bearer ${token}`);
  });

  it('starts a daemon when none answers and waits for its health check', async () => {
    const { home } = await newHome();
    const port = await freePort();
    let started = 0;
    const spawn: SpawnDaemon = () => {
      started++;
      const server = createServer(daemonHandler(home));
      servers.push(server);
      setTimeout(() => server.listen(port, '127.0.0.1'), 300);
      return { pid: 1, exited: new Promise(() => undefined), release: () => undefined };
    };
    const client = await connectDaemon({ env: { DSTACK_HOME: home, DSTACK_SERVER_PORT: String(port) }, spawnDaemon: spawn });
    await client.close();
    expect([started, client.origin]).toEqual([1, `http://127.0.0.1:${port}`]);
  });

  it('refuses a daemon of another DSTACK_HOME on the configured port', async () => {
    const { home } = await newHome();
    const port = await listen(daemonHandler('/somewhere/else'));
    const err = await connectDaemon({ env: { DSTACK_HOME: home, DSTACK_SERVER_PORT: String(port) } }).catch((e: unknown) => e);
    expect(isDstackError(err) && err.code).toBe('DAEMON_PORT_IN_USE');
  });

  it('fails with the log file path and its tail when the daemon exits without answering', async () => {
    const { home, paths } = await newHome();
    const spawn: SpawnDaemon = ({ logFile }) => {
      void mkdir(paths.logsDir, { recursive: true }).then(() => writeFile(logFile, 'Error: cannot bind\n'));
      return { pid: 1, exited: Promise.resolve(1), release: () => undefined };
    };
    let t = 0;
    const err = await connectDaemon({
      env: { DSTACK_HOME: home, DSTACK_SERVER_PORT: String(await freePort()) },
      spawnDaemon: spawn,
      now: () => t,
      sleep: async () => void (t += 1000),
    }).catch((e: unknown) => e);
    expect(isDstackError(err) && err.code).toBe('DAEMON_START_FAILED');
    expect((err as Error).message).toContain('cannot bind');
    expect(isDstackError(err) && err.hint).toContain(join(paths.logsDir, 'daemon.log'));
  });

  it('reports a daemon that dies mid-stream as DAEMON_CONNECTION_LOST', async () => {
    const { home, paths } = await newHome();
    const port = await listen(daemonHandler(home, (_req, res) => {
      res.setHeader('content-type', 'text/event-stream');
      res.write('data: {"partial":');
      setTimeout(() => res.socket?.destroy(), 50);
    }));
    await mkdir(paths.serverDir, { recursive: true });
    await writeFile(paths.daemonFile, JSON.stringify({ pid: 1, port }));
    const client = await connectDaemon({ env: { DSTACK_HOME: home } });
    const err = await (async () => {
      for await (const _ of client.events('x')) void _;
    })().catch((e: unknown) => e);
    await client.close();
    expect(isDstackError(err) && err.code).toBe('DAEMON_CONNECTION_LOST');
  });
});
