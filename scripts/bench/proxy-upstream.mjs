// Bench upstream: one plain node:http process. `/` answers a small body; `/sse` sends 50 events 2 ms apart
// (proxy-bench.md's SSE shape). Prints `{"port":N}` when ready.
import { createServer } from 'node:http';

const body = Buffer.from('{"ok":true,"text":"hello from the replica"}\n');
const server = createServer((req, res) => {
  if (req.url?.startsWith('/sse')) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let n = 0;
    const timer = setInterval(() => {
      res.write(`data: token-${n}\n\n`);
      if (++n === 50) {
        clearInterval(timer);
        res.end();
      }
    }, 2);
    res.on('close', () => clearInterval(timer));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)) && server.closeAllConnections());
