/**
 * Bench section `models` (npm run bench): what the TGI adapter adds to each streamed chunk. A stand-in TGI
 * replica stamps every token with the sender's CLOCK_MONOTONIC (process.hrtime, shared by all processes on the
 * box); the client subtracts it on arrival. Measured in the same run: the replica read directly, through
 * /proxy/models as `format: tgi` (parse TGI event → OpenAI chunk), and an OpenAI-protocol replica direct and
 * through the `format: openai` pass-through. Goal: adapter adds < 0.2 ms per chunk at the median.
 * Standalone: `node scripts/bench/models.mjs [--streams N]`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { markdownSection } from './lib.mjs';
import { Agent, request } from 'undici';

export const name = 'models';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOKEN = 'bench-models-token';
const CHUNKS = 100;
const INTERVAL_MS = 2;

// The replica: TGI /generate_stream and OpenAI /v1/chat/completions, one token every INTERVAL_MS, text = hrtime ns.
const UPSTREAM = `
import http from 'node:http';
const INTERVAL = ${INTERVAL_MS};
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    const tgi = req.url === '/generate_stream';
    const n = tgi ? body.parameters.max_new_tokens : body.max_tokens;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let i = 0;
    const tick = () => {
      if (res.destroyed) return;
      i += 1;
      const now = String(process.hrtime.bigint());
      const last = i === n;
      if (tgi) {
        res.write('data:' + JSON.stringify({ index: i, token: { id: i, text: now, logprob: -0.1, special: false }, generated_text: last ? 'x' : null,
          details: last ? { finish_reason: 'length', generated_tokens: n, seed: 1, input_length: 3 } : null }) + '\\n\\n');
      } else {
        res.write('data: ' + JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: body.model,
          choices: [{ index: 0, delta: { content: now }, logprobs: null, finish_reason: last ? 'length' : null }] }) + '\\n\\n');
      }
      if (last) return void res.end(tgi ? '' : 'data: [DONE]\\n\\n');
      setTimeout(tick, INTERVAL);
    };
    setTimeout(tick, INTERVAL);
  });
}).listen(0, '127.0.0.1', function () { process.stdout.write(JSON.stringify({ port: this.address().port }) + '\\n'); });
process.on('SIGTERM', () => process.exit(0));
`;

// The models endpoint as the daemon runs it: real handler, real forwarder, route table with the replica.
const ENDPOINT = `
import http from 'node:http';
import { createModelsHandler } from './src/proxy/models/handler.js';
import { makeForwarder } from './src/proxy/http/forward.js';
import { MemoryRouteTable } from './src/proxy/routing/route-table.js';
const routes = new MemoryRouteTable();
for (const run of ['tgi', 'oa']) routes.set({ project: 'main', run, auth: true, stripPrefix: true, rateLimits: [], canScaleFromZero: false,
  readTimeoutMs: 60000, replicas: [{ id: run + '-0', origin: process.env.UPSTREAM }] });
const entries = [
  { project: 'main', name: 'tgi-model', run: 'tgi', format: 'tgi', prefix: '/v1', createdAt: 1,
    chatTemplate: "{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}", bosToken: '<s>', eosToken: '</s>' },
  { project: 'main', name: 'oa-model', run: 'oa', format: 'openai', prefix: '/v1', createdAt: 1 },
];
const registry = { list: () => entries, find: (_p, n) => entries.find((e) => e.name === n) };
const handler = createModelsHandler({ registry, forward: makeForwarder(routes), authenticate: (_p, t) => t === process.env.TOKEN });
const server = http.createServer(handler);
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

// In-process cost of the adapter's per-chunk work alone: SSE parse + event → chunk + JSON.stringify.
const MICRO = `
import { sseData } from './src/proxy/models/tgi/sse-parse.js';
import { TgiStreamConverter, parseStreamEvent } from './src/proxy/models/tgi/stream-converter.js';
export async function micro(n) {
  const meta = { kind: 'chat', id: 'chatcmpl-x', created: 1, model: 'tgi-model' };
  const events = [];
  for (let i = 1; i <= n; i++) events.push(Buffer.from('data:' + JSON.stringify({ index: i, token: { id: i, text: ' word' + i, logprob: -0.1, special: false }, generated_text: null, details: null }) + '\\n\\n'));
  async function* body() { yield* events; }
  const conv = new TgiStreamConverter(meta, ['</s>'], false);
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for await (const data of sseData(body())) for (const c of conv.next(parseStreamEvent(data))) bytes += ('data: ' + JSON.stringify(c) + '\\n\\n').length;
  return { nsPerChunk: Number(process.hrtime.bigint() - t0) / n, bytes };
}
`;

async function startChild(file, env) {
  const child = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line).port);
    });
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}) before listening: ${stderr.slice(-500)}`)));
  });
  return { port, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

async function bundle(contents, outfile, format) {
  const { build } = await import('esbuild');
  await build({ stdin: { contents, resolveDir: root, loader: 'ts', sourcefile: 'bench-entry.ts' }, bundle: true, platform: 'node', format, target: 'node20', outfile, logLevel: 'error' });
}

/** One stream; returns each chunk's latency in ms (arrival − the replica's stamp). */
async function stream(url, body, agent, textOf) {
  const res = await request(url, { method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}: ${await res.body.text()}`);
  const latencies = [];
  let pending = '';
  for await (const chunk of res.body) {
    const now = process.hrtime.bigint();
    pending += chunk.toString('utf8');
    let end;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const event = pending.slice(0, end);
      pending = pending.slice(end + 2);
      const data = event.split('\n').find((l) => l.startsWith('data:'))?.slice(5).trim();
      if (!data || data === '[DONE]') continue;
      const text = textOf(JSON.parse(data));
      if (text && /^\d+$/.test(text)) latencies.push(Number(now - BigInt(text)) / 1e6);
    }
  }
  return latencies;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};
const f3 = (n) => (Number.isFinite(n) ? n.toFixed(3) : '—');

export async function run(ctx = {}) {
  const streams = ctx.streams ?? 20;
  const log = ctx.log ?? ((m) => process.stderr.write(`[models] ${m}\n`));
  const dir = await mkdtemp(join(tmpdir(), 'dstack-bench-models-'));
  const stops = [];
  const agent = new Agent({ connections: 64 });
  try {
    await writeFile(join(dir, 'upstream.mjs'), UPSTREAM);
    await bundle(ENDPOINT, join(dir, 'endpoint.cjs'), 'cjs');
    await bundle(MICRO, join(dir, 'micro.mjs'), 'esm');
    const upstream = await startChild(join(dir, 'upstream.mjs'), {});
    stops.push(upstream.stop);
    const endpoint = await startChild(join(dir, 'endpoint.cjs'), { UPSTREAM: `http://127.0.0.1:${upstream.port}`, TOKEN });
    stops.push(endpoint.stop);
    const up = `http://127.0.0.1:${upstream.port}`;
    const ep = `http://127.0.0.1:${endpoint.port}/proxy/models/main/v1/chat/completions`;
    const openaiText = (c) => c.choices?.[0]?.delta?.content;
    const chat = (model) => ({ model, stream: true, max_tokens: CHUNKS, messages: [{ role: 'user', content: 'Hi' }] });
    const targets = [
      { name: 'TGI replica, direct', url: `${up}/generate_stream`, body: { inputs: 'Hi', parameters: { max_new_tokens: CHUNKS, details: true } }, textOf: (e) => e.token?.text },
      { name: 'TGI via /proxy/models (format: tgi)', url: ep, body: chat('tgi-model'), textOf: openaiText },
      { name: 'OpenAI replica, direct', url: `${up}/v1/chat/completions`, body: chat('oa-model'), textOf: openaiText },
      { name: 'OpenAI via /proxy/models (format: openai)', url: ep, body: chat('oa-model'), textOf: openaiText },
    ];
    const results = [];
    for (const t of targets) {
      for (let i = 0; i < 3; i++) await stream(t.url, t.body, agent, t.textOf); // warm-up: JIT, pools, template cache
      log(`${t.name}: ${streams} streams × ${CHUNKS} chunks, one at a time, then ${streams} at once`);
      const seq = [];
      for (let i = 0; i < streams; i++) seq.push(...(await stream(t.url, t.body, agent, t.textOf)));
      const conc = (await Promise.all(Array.from({ length: streams }, () => stream(t.url, t.body, agent, t.textOf)))).flat();
      results.push({ ...t, seq, conc });
    }
    const { micro } = await import(pathToFileURL(join(dir, 'micro.mjs')).href);
    await micro(10_000);
    const m = await micro(100_000);
    const added = (i, key, p) => pct(results[i][key], p) - pct(results[i - 1][key], p);
    const rows = results.map((r, i) => [
      r.name,
      String(r.seq.length),
      `${f3(pct(r.seq, 0.5))} / ${f3(pct(r.seq, 0.99))}`,
      i % 2 === 1 ? f3(added(i, 'seq', 0.5)) : '—',
      `${f3(pct(r.conc, 0.5))} / ${f3(pct(r.conc, 0.99))}`,
      i % 2 === 1 ? f3(added(i, 'conc', 0.5)) : '—',
    ]);
    const tgiAdded = added(1, 'seq', 0.5);
    return {
      title: `Model endpoint: latency per streamed chunk (${CHUNKS} tokens, ${INTERVAL_MS} ms apart; replica stamp → client arrival)`,
      columns: ['path', 'chunks', 'p50 / p99 ms (1 stream)', 'added p50 ms', `p50 / p99 ms (${streams} streams)`, 'added p50 ms'],
      rows,
      notes: [
        `TGI adapter added latency per chunk, median, one stream: ${f3(tgiAdded)} ms — goal < 0.2 ms: ${tgiAdded < 0.2 ? 'met' : 'NOT met'}.`,
        `"added" = via /proxy/models minus the same replica read directly, in this run; it includes the forwarder hop (undici) as well as the adapter.`,
        `Adapter work alone, in process (SSE parse + TGI event → OpenAI chunk + JSON): ${f3(m.nsPerChunk / 1e6)} ms per chunk (100 000 events).`,
        'Replica, endpoint and client share the same cores: compare rows of this run, not absolute numbers across runs.',
      ],
    };
  } finally {
    await agent.close().catch(() => undefined);
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--streams');
  const result = await run({ streams: i > 0 ? Number(process.argv[i + 1]) : 20 });
  console.log(markdownSection(result));
}
