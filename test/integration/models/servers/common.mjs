// Shared bits of the stand-in model servers: body reading, the port announcement, and the /__last and
// /__stats endpoints through which tests see what the replica received and whether a client went away.
import http from 'node:http';

export function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve({ text, json: text ? JSON.parse(text) : undefined });
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

export function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Starts the server on PORT (0 = any) and prints `listening <port>` for the test that spawned it. */
export function serve(handler) {
  const state = { last: undefined, aborted: 0, requests: 0 };
  const server = http.createServer(async (req, res) => {
    if (req.url === '/__last') return sendJson(res, 200, state.last ?? null);
    if (req.url === '/__stats') return sendJson(res, 200, { aborted: state.aborted, requests: state.requests });
    state.requests += 1;
    try {
      const { text, json } = await readJson(req);
      state.last = { method: req.method, path: req.url, headers: req.headers, body: text };
      // `close` before the response finished = the proxy dropped the upstream request.
      res.on('close', () => {
        if (!res.writableFinished) state.aborted += 1;
      });
      await handler(req, res, json);
    } catch (err) {
      sendJson(res, 500, { error: String(err) });
    }
  });
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
