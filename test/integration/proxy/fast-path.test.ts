/**
 * The proxy's fast path (src/proxy/fast, issue 15) against real upstreams on 127.0.0.1:0, seen from raw client
 * sockets: what it forwards on raw sockets, where it hands a connection to node:http, framing, reuse and failures.
 * Responses served by node:http carry its `Keep-Alive: timeout=65`; the fast path relays the replica's head without it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { get as httpGet } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { ServiceStats } from '../../../src/proxy/stats/service-stats.js';
import { TOKEN, deadOrigin, deferred, echoHandler, harness, route, startProxy, startUpstream, type Cleanup } from './helpers.js';

const defer = harness();
const AUTH = `Authorization: Bearer ${TOKEN}\r\n`;

interface RawResponse {
  status: number;
  /** Lower-cased names; repeated fields joined with ', '. */
  headers: Record<string, string>;
  head: string;
  body: Buffer;
  /** Trailer section of a chunked body, as written. */
  trailers: string;
}

/** A raw client connection with a reader that splits what arrives into responses (its own parser, not the proxy's). */
class RawClient {
  readonly socket: Socket;
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  ended = false;
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.poke();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
    this.socket.on('close', () => {
      this.ended = true;
      this.poke();
    });
  }

  write(text: string | Buffer): void {
    this.socket.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  }

  /** Bytes received and not yet taken by `response()`. */
  get pending(): Buffer {
    return this.buf;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async more(): Promise<void> {
    if (this.ended) throw new Error(`connection closed; unread: ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`);
    await new Promise<void>((resolve) => (this.wake = resolve));
  }

  /** The next response; `noBody` for an answer to HEAD. Rejects when the connection closes before it is whole. */
  async response(noBody = false): Promise<RawResponse> {
    let end: number;
    while ((end = this.buf.indexOf('\r\n\r\n')) < 0) await this.more();
    const head = this.buf.toString('latin1', 0, end);
    const [statusLine, ...lines] = head.split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)?.[1]);
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      const name = l.slice(0, i).toLowerCase();
      const value = l.slice(i + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    let at = end + 4;
    let body = Buffer.alloc(0);
    let trailers = '';
    if (noBody || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      // no body
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      for (;;) {
        let lineEnd: number;
        while ((lineEnd = this.buf.indexOf('\r\n', at)) < 0) await this.more();
        const size = parseInt(this.buf.toString('latin1', at, lineEnd).split(';')[0]!, 16);
        if (size === 0) {
          let tEnd: number;
          while ((tEnd = this.buf.indexOf('\r\n\r\n', lineEnd)) < 0 && this.buf.indexOf('\r\n', lineEnd + 2) !== lineEnd + 2) await this.more();
          if (this.buf.indexOf('\r\n', lineEnd + 2) === lineEnd + 2) {
            at = lineEnd + 4;
          } else {
            trailers = this.buf.toString('latin1', lineEnd + 2, tEnd);
            at = tEnd + 4;
          }
          break;
        }
        while (this.buf.length < lineEnd + 2 + size + 2) await this.more();
        parts.push(this.buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const len = Number(headers['content-length']);
      while (this.buf.length < at + len) await this.more();
      body = this.buf.subarray(at, at + len);
      at += len;
    } else {
      while (!this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
      body = this.buf.subarray(at);
      at = this.buf.length;
    }
    this.buf = this.buf.subarray(at);
    return { status, headers, head, body: Buffer.from(body), trailers };
  }
}

function rawClient(port: number): RawClient {
  const c = new RawClient(port);
  defer(() => void c.socket.destroy());
  return c;
}

/** A raw TCP upstream: `onConnection` gets every accepted socket. */
async function rawUpstream(onConnection: (socket: Socket) => void): Promise<{ origin: string }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cleanup: Cleanup = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  defer(cleanup);
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Calls `onRequest` with each whole request head (and its Content-Length body) read on `socket`, in order. */
function readRequests(socket: Socket, onRequest: (head: string, body: Buffer, index: number) => void): void {
  let buf = Buffer.alloc(0);
  let index = 0;
  socket.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.toString('latin1', 0, end);
      const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + len) return;
      const body = buf.subarray(end + 4, end + 4 + len);
      buf = buf.subarray(end + 4 + len);
      onRequest(head, body, index++);
    }
  });
}

async function oneService(handler = echoHandler('A'), extra: Parameters<typeof startProxy>[1] = {}, routeExtra: Partial<Parameters<typeof route>[0]> = {}) {
  const up = await startUpstream(handler, defer);
  const proxy = await startProxy(defer, extra);
  proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }], ...routeExtra }));
  return proxy;
}

const get = (path: string, extra = ''): string => `GET /proxy/services/main/svc${path} HTTP/1.1\r\nHost: h\r\n${AUTH}${extra}\r\n`;
const servedByNodeHttp = (r: RawResponse): boolean => r.headers['keep-alive'] === 'timeout=65';
const urlOf = (r: RawResponse): string => (JSON.parse(r.body.toString()) as { url: string }).url;

describe('fast path: connections shared with node:http', () => {
  it('serves kept-alive requests, hands the connection to node:http for one it does not take, and node:http answers the rest in order', async () => {
    const proxy = await oneService();
    const c = rawClient(proxy.port);
    for (const n of [1, 2]) {
      c.write(get(`/fast${n}`));
      const r = await c.response();
      expect(r.status).toBe(200);
      expect(urlOf(r)).toBe(`/fast${n}`);
      expect(servedByNodeHttp(r)).toBe(false);
      // The replica's hop-by-hop fields and the ones its Connection names do not reach the client.
      expect(r.headers['x-upstream-hop']).toBeUndefined();
    }
    c.write('GET /proxy/services/main/svc HTTP/1.1\r\nHost: h\r\n\r\n');
    const redirect = await c.response();
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe('/proxy/services/main/svc/');
    expect(servedByNodeHttp(redirect)).toBe(true);
    c.write(get('/after1') + 'GET /proxy/services/main/svc/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer nope\r\n\r\n' + get('/after2'));
    const after1 = await c.response();
    expect([after1.status, urlOf(after1), servedByNodeHttp(after1)]).toEqual([200, '/after1', true]);
    expect((await c.response()).status).toBe(403);
    const after2 = await c.response();
    expect([after2.status, urlOf(after2)]).toEqual([200, '/after2']);
    expect(c.ended).toBe(false);
  });

  it('hands over with a wrong token: node:http answers 403, then serves the requests that follow', async () => {
    const proxy = await oneService();
    const c = rawClient(proxy.port);
    c.write(get('/one'));
    expect(urlOf(await c.response())).toBe('/one');
    c.write('GET /proxy/services/main/svc/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer nope\r\n\r\n');
    const denied = await c.response();
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body.toString())).toEqual({ detail: 'Unauthenticated or unauthorized to access project main' });
    for (const n of [2, 3, 4]) {
      c.write(get(`/n${n}`));
      expect(urlOf(await c.response())).toBe(`/n${n}`);
    }
  });

  it('answers requests pipelined in one write in order', async () => {
    const proxy = await oneService();
    const c = rawClient(proxy.port);
    const paths = ['/p1', '/p2?x=1', '/p3', '/p4'];
    c.write(paths.map((p) => get(p)).join(''));
    for (const p of paths) {
      const r = await c.response();
      expect(r.status).toBe(200);
      expect(urlOf(r)).toBe(p);
      expect(servedByNodeHttp(r)).toBe(false);
    }
  });

  it('answers a pipelined mix in order: fast, then one node:http must serve, then the rest', async () => {
    const proxy = await oneService();
    const c = rawClient(proxy.port);
    c.write(get('/m1') + 'GET /proxy/services/main/svc HTTP/1.1\r\nHost: h\r\n\r\n' + get('/m2') + get('/m3'));
    const m1 = await c.response();
    expect([m1.status, urlOf(m1), servedByNodeHttp(m1)]).toEqual([200, '/m1', false]);
    expect((await c.response()).status).toBe(308);
    for (const p of ['/m2', '/m3']) {
      const r = await c.response();
      expect([r.status, urlOf(r)]).toEqual([200, p]);
    }
  });

  it('answers a pipelined POST with its body and the GET behind it in order', async () => {
    const proxy = await oneService();
    const c = rawClient(proxy.port);
    c.write(`POST /proxy/services/main/svc/post HTTP/1.1\r\nHost: h\r\n${AUTH}Content-Length: 5\r\n\r\nhello${get('/after')}`);
    const post = await c.response();
    expect(JSON.parse(post.body.toString())).toMatchObject({ method: 'POST', url: '/post', body: 'hello' });
    expect(urlOf(await c.response())).toBe('/after');
  });

  it('leaves a head longer than node:http allows to node:http, which refuses it (the listener answers 400), even when it arrives whole', async () => {
    const seen = vi.fn();
    const up = await rawUpstream((s) =>
      readRequests(s, () => {
        seen();
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }),
    );
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const c = rawClient(proxy.port);
    c.write(get('/big', `X-Big: ${'b'.repeat(20 * 1024)}\r\n`));
    const r = await c.response();
    expect(r.status).toBe(400);
    expect(seen).not.toHaveBeenCalled();
  });
});

describe('fast path: framing of answers', () => {
  it('relays a chunked answer written in several parts with trailers whole, and reuses the connection after it', async () => {
    const proxy = await oneService((req, res) => {
      if (req.url !== '/chunked') return echoHandler('A')(req, res);
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('first;');
      setImmediate(() => {
        res.write('second;');
        setImmediate(() => {
          res.addTrailers({ 'x-checksum': 'abc' });
          res.end('third');
        });
      });
    });
    const c = rawClient(proxy.port);
    c.write(get('/chunked'));
    const r = await c.response();
    expect(r.status).toBe(200);
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.body.toString()).toBe('first;second;third');
    expect(r.trailers).toBe('x-checksum: abc');
    c.write(get('/next'));
    expect(urlOf(await c.response())).toBe('/next');
    expect(c.pending.length).toBe(0);
  });

  it('relays a close-delimited answer whole, then closes the client connection', async () => {
    const up = await rawUpstream((s) =>
      readRequests(s, () => {
        s.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one;');
        setImmediate(() => {
          s.write('part two;');
          setImmediate(() => s.end('part three'));
        });
      }),
    );
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const c = rawClient(proxy.port);
    c.write(get('/close'));
    const r = await c.response();
    expect(r.status).toBe(200);
    expect(r.headers.connection).toBe('close');
    expect(r.body.toString()).toBe('part one;part two;part three');
    await c.closed;
  });

  it('sends no body for HEAD, 204 and 304, and the next request on the connection works', async () => {
    const proxy = await oneService((req, res) => {
      if (req.url === '/204') return void res.writeHead(204, { 'x-kind': 'none' }).end();
      if (req.url === '/304') return void res.writeHead(304, { etag: '"e"' }).end();
      if (req.method === 'HEAD') return void res.writeHead(200, { 'content-length': '5', 'x-kind': 'head' }).end();
      echoHandler('A')(req, res);
    });
    const c = rawClient(proxy.port);
    c.write(`HEAD /proxy/services/main/svc/h HTTP/1.1\r\nHost: h\r\n${AUTH}\r\n`);
    const head = await c.response(true);
    expect([head.status, head.headers['content-length'], head.headers['x-kind']]).toEqual([200, '5', 'head']);
    c.write(get('/204'));
    expect(await c.response()).toMatchObject({ status: 204, headers: { 'x-kind': 'none' } });
    c.write(get('/304', 'If-None-Match: "e"\r\n'));
    expect(await c.response()).toMatchObject({ status: 304, headers: { etag: '"e"' } });
    c.write(get('/next'));
    const next = await c.response();
    expect([next.status, urlOf(next)]).toEqual([200, '/next']);
    expect(c.pending.length).toBe(0);
  });

  it('does not relay a 103 interim answer, only the final one', async () => {
    const up = await rawUpstream((s) =>
      readRequests(s, () => {
        s.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
        setImmediate(() => s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal'));
      }),
    );
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const c = rawClient(proxy.port);
    c.write(get('/hints') + get('/again'));
    for (let i = 0; i < 2; i++) {
      const r = await c.response();
      expect(r.status).toBe(200);
      expect(r.headers.link).toBeUndefined();
      expect(r.body.toString()).toBe('final');
    }
  });
  it('reads a replica answer that arrives a byte at a time, interim head included', async () => {
    const answer = Buffer.from('HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nX-Slow: yes\r\nContent-Length: 11\r\n\r\nhello world');
    const up = await rawUpstream((s) =>
      readRequests(s, () => {
        let at = 0;
        const step = (): void => {
          if (s.destroyed || at >= answer.length) return;
          s.write(answer.subarray(at, ++at));
          setImmediate(step);
        };
        step();
      }),
    );
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const c = rawClient(proxy.port);
    c.write(get('/trickle'));
    const r = await c.response();
    expect([r.status, r.headers['x-slow'], r.body.toString()]).toEqual([200, 'yes', 'hello world']);
    c.write(get('/again'));
    expect((await c.response()).body.toString()).toBe('hello world');
  });

  it('answers 502 for a replica answer with a repeated Content-Length (undici refuses it on the node:http path too), never two lengths to the client', async () => {
    const up = await rawUpstream((s) => readRequests(s, () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello')));
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const result = await new Promise<string>((resolve) => {
      const req = httpGet({ host: '127.0.0.1', port: proxy.port, path: '/proxy/services/main/svc/dup', headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
        let body = '';
        res.setEncoding('latin1').on('data', (c: string) => (body += c)).on('end', () => resolve(`${res.statusCode} ${body}`));
      });
      req.on('error', (err: Error & { code?: string }) => resolve(`error ${err.code ?? err.message}`));
    });
    expect(result).toMatch(/^502 \{"detail":"Error requesting upstream of service main\/svc"\}$/);
  });
});

describe('fast path: failing replicas', () => {
  it('answers an invalid replica answer with a 502 JSON', async () => {
    const up = await rawUpstream((s) => readRequests(s, () => s.write('NOT HTTP AT ALL\r\n\r\n')));
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const c = rawClient(proxy.port);
    c.write(get('/bad'));
    const r = await c.response();
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.body.toString())).toHaveProperty('detail');
  });

  it('cuts the client connection when the replica closes before its Content-Length is sent', async () => {
    const up = await rawUpstream((s) =>
      readRequests(s, () => {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
        setImmediate(() => s.destroy());
      }),
    );
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const c = rawClient(proxy.port);
    c.write(get('/short'));
    await expect(c.response()).rejects.toThrow(/connection closed/);
    await c.closed;
    expect(c.pending.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n0123456789$/);
  });

  it('sends a GET again on a new connection when the replica closes a kept-alive one, but answers 502 to a POST whose body was streamed', async () => {
    const postHead = deferred<void>();
    let connections = 0;
    // Answers the first request on each connection; on the second, once it is whole, closes without answering.
    const up = await rawUpstream((s) => {
      connections++;
      readRequests(s, (head, body, index) => {
        if (index > 0) return void s.destroy();
        const text = `${head.split(' ')[1]} ${body.length}`;
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
      });
      s.on('data', (c: Buffer) => {
        if (c.includes('POST ')) postHead.resolve();
      });
    });
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const c = rawClient(proxy.port);
    c.write(get('/first'));
    expect((await c.response()).body.toString()).toBe('/first 0');
    c.write(get('/again'));
    const again = await c.response();
    expect([again.status, again.body.toString()]).toEqual([200, '/again 0']);
    expect(connections).toBe(2);

    // The connection that answered /again is kept; a POST streams its body into it in several writes: the part
    // sent before the replica closed cannot be sent again.
    const post = rawClient(proxy.port);
    post.write(`POST /proxy/services/main/svc/upload HTTP/1.1\r\nHost: h\r\n${AUTH}Content-Length: 9\r\n\r\nabc`);
    await postHead.promise;
    post.write('def');
    await new Promise((resolve) => setImmediate(resolve));
    post.write('ghi');
    const r = await post.response();
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toBe('application/json');
    expect(connections).toBe(2);
    await post.closed;
  });

  it('answers 200 from the live replica when the other one refuses connections', async () => {
    const up = await startUpstream(echoHandler('live'), defer);
    // random near 1 keeps the first of tied replicas: the dead one is tried first.
    const proxy = await startProxy(defer, { random: () => 0.99 });
    proxy.routes.set(route({ replicas: [{ id: 'dead', origin: await deadOrigin() }, { id: 'live', origin: up.origin }] }));
    const c = rawClient(proxy.port);
    for (const n of [1, 2, 3]) {
      c.write(get(`/r${n}`));
      const r = await c.response();
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body.toString())).toMatchObject({ replica: 'live', url: `/r${n}` });
    }
  });
});

describe('fast path: large bodies and flow control', () => {
  it('forwards an 8 MiB upload written in many parts whole', async () => {
    const proxy = await oneService((req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes, sha: hash.digest('hex') })));
    });
    const body = randomBytes(8 * 1024 * 1024);
    const c = rawClient(proxy.port);
    c.write(`PUT /proxy/services/main/svc/up HTTP/1.1\r\nHost: h\r\n${AUTH}Content-Length: ${body.length}\r\n\r\n`);
    for (let at = 0; at < body.length; at += 100_000) {
      if (!c.socket.write(body.subarray(at, at + 100_000))) await new Promise((resolve) => c.socket.once('drain', resolve));
    }
    const r = await c.response();
    expect(JSON.parse(r.body.toString())).toEqual({ bytes: body.length, sha: createHash('sha256').update(body).digest('hex') });
    c.write(get('/next'));
    expect((await c.response()).status).toBe(200);
  });

  it('relays a 16 MiB answer to a client that reads slowly whole, and the replica connection serves the next request', async () => {
    const big = randomBytes(16 * 1024 * 1024);
    const proxy = await oneService(
      (req, res) => {
        if (req.url !== '/big') return echoHandler('A')(req, res);
        res.writeHead(200, { 'content-length': big.length });
        res.end(big);
      },
      {},
      { readTimeoutMs: 10_000 },
    );
    const c = rawClient(proxy.port);
    // Reads a little, pauses, and so on: the proxy must hold the replica back rather than buffer or drop.
    let reads = 0;
    c.socket.on('data', () => {
      if (++reads % 4 !== 0) return;
      c.socket.pause();
      setTimeout(() => c.socket.resume(), 2);
    });
    c.write(get('/big'));
    const r = await c.response();
    expect(r.body.length).toBe(big.length);
    expect(r.body.equals(big)).toBe(true);
    c.write(get('/after'));
    const after = await c.response();
    expect([after.status, urlOf(after)]).toEqual([200, '/after']);
    const other = rawClient(proxy.port);
    other.write(get('/other'));
    const r2 = await other.response();
    expect([r2.status, urlOf(r2)]).toEqual([200, '/other']);
  });
  it('keeps a replica connection readable after an answer the client socket took over its high-water mark in one read', async () => {
    // Head and a 32 KiB body come in one read and fill the client socket's buffer past 16 KiB: the proxy holds the
    // replica back for that write, and the connection goes back to the pool as the answer ends.
    const body = Buffer.alloc(32 * 1024, 'a');
    const proxy = await oneService(
      (req, res) => {
        if (req.url !== '/32k') return echoHandler('A')(req, res);
        res.writeHead(200, { 'content-length': body.length }).end(body);
      },
      {},
      // A replica connection nobody reads ends in a 504 after this, instead of hanging past the test's timeout.
      { readTimeoutMs: 5_000 },
    );
    const c = rawClient(proxy.port);
    c.write(get('/32k'));
    const first = await c.response();
    expect(first.body.equals(body)).toBe(true);
    c.write(get('/next'));
    const next = await c.response();
    expect([next.status, next.headers['content-type']]).toEqual([200, 'application/json']);
    expect(urlOf(next)).toBe('/next');
  });
});

describe('fast path: stats', () => {
  it('counts a request the client leaves mid-answer as ended: in-flight returns to 0', async () => {
    const stats = new ServiceStats();
    const replicaSawClose = deferred<void>();
    const proxy = await oneService(
      (req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first part');
        res.on('close', () => replicaSawClose.resolve());
      },
      { stats },
    );
    const c = rawClient(proxy.port);
    c.write(get('/stream'));
    await vi.waitFor(() => expect(c.pending.toString('latin1')).toContain('first part'));
    expect(stats.inFlight('main', 'svc')).toBe(1);
    c.socket.destroy();
    await replicaSawClose.promise;
    await vi.waitFor(() => expect(stats.inFlight('main', 'svc')).toBe(0));
  });

  it('counts whole answers in and out', async () => {
    const stats = new ServiceStats();
    const proxy = await oneService(echoHandler('A'), { stats });
    const c = rawClient(proxy.port);
    c.write(get('/1') + get('/2'));
    await c.response();
    await c.response();
    expect(stats.inFlight('main', 'svc')).toBe(0);
  });
});
