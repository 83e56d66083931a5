/**
 * The Authorization header at the proxy: on `auth: true` routes the member's token is consumed by the proxy and
 * never reaches the replica (HTTP and WebSocket); on `auth: false` it is the app's own and passes unchanged; a
 * request carrying two of them is refused before anything else, whatever the route's `auth`.
 */
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { auth, deferred, echoHandler, harness, route, startProxy, startUpstream, TOKEN } from './helpers.js';

const client = new Agent({ connections: 4 });
afterAll(() => client.close());
const defer = harness();

async function echoService(authOn: boolean) {
  const up = await startUpstream(echoHandler('A'), defer);
  const upgradeAuthorization = deferred<string | undefined>();
  const wss = new WebSocketServer({ server: up.server });
  wss.on('connection', (socket, req) => {
    upgradeAuthorization.resolve(req.headers.authorization);
    socket.close();
  });
  defer(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const proxy = await startProxy(defer);
  proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }], auth: authOn }));
  return { proxy, upgradeAuthorization: upgradeAuthorization.promise };
}

async function replicaSaw(url: string, headers: Record<string, string>): Promise<Record<string, string>> {
  const res = await request(url, { dispatcher: client, headers });
  expect(res.statusCode).toBe(200);
  return ((await res.body.json()) as { headers: Record<string, string> }).headers;
}

/** A request written byte for byte (clients merge or refuse repeated Authorization fields), read to the close. */
function rawExchange(port: number, head: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${head}\r\n`));
    let text = '';
    socket.setEncoding('latin1').on('data', (c: string) => (text += c)).on('error', reject);
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

const twoAuthorizations = (path: string, connection = 'close'): string =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nAuthorization: Bearer other\r\nConnection: ${connection}\r\n`;

/** `Connection: Upgrade` sends it down node:http's upgrade path (websocket.ts), not the request handler. */
const wsUpgrade = 'Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==';

/** The Authorization the replica saw on the upgrade request; a refused upgrade fails the test instead of hanging. */
function wsAuthorization(port: number, headers: Record<string, string>, seen: Promise<string | undefined>): Promise<string | undefined> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/proxy/services/main/svc/ws`, { headers });
  ws.on('error', () => undefined);
  const refused = new Promise<never>((_, reject) => {
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
  });
  return Promise.race([seen, refused]).finally(() => ws.terminate());
}

describe('the Authorization header at the service proxy', () => {
  it('does not forward the project token to the replica when the route has auth: true', async () => {
    const { proxy } = await echoService(true);
    const headers = await replicaSaw(`${proxy.base}/proxy/services/main/svc/h`, { ...auth, 'x-kept': 'yes' });
    expect(headers.authorization).toBeUndefined();
    expect(headers['x-kept']).toBe('yes');
  });

  it('forwards the header unchanged when the route has auth: false (it is the app\'s own)', async () => {
    const { proxy } = await echoService(false);
    const headers = await replicaSaw(`${proxy.base}/proxy/services/main/svc/h`, { authorization: 'Basic YXBwOnNlY3JldA==' });
    expect(headers.authorization).toBe('Basic YXBwOnNlY3JldA==');
  });

  it('does not forward the project token on a WebSocket upgrade when auth: true', async () => {
    const { proxy, upgradeAuthorization } = await echoService(true);
    expect(await wsAuthorization(proxy.port, auth, upgradeAuthorization)).toBeUndefined();
  });

  it('forwards the header on a WebSocket upgrade when auth: false', async () => {
    const { proxy, upgradeAuthorization } = await echoService(false);
    expect(await wsAuthorization(proxy.port, { authorization: 'Bearer app-own' }, upgradeAuthorization)).toBe('Bearer app-own');
  });

  it.each([true, false])('answers 400 to two Authorization headers, one of them valid (auth: %s)', async (authOn) => {
    const { proxy } = await echoService(authOn);
    const res = await rawExchange(proxy.port, twoAuthorizations('/proxy/services/main/svc/h'));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ detail: 'More than one Authorization header' });
  });

  it('answers 400 to two Authorization headers on a WebSocket upgrade', async () => {
    const { proxy } = await echoService(true);
    const res = await rawExchange(proxy.port, twoAuthorizations('/proxy/services/main/svc/ws', wsUpgrade));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ detail: 'More than one Authorization header' });
  });
});
