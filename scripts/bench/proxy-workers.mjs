/**
 * Bench section `proxy-workers` (npm run bench): the row pair for `server.proxy_workers: 2` — our proxy as a
 * primary plus 2 worker processes sharing the port (auth on, stats summed in the primary over IPC) against nginx
 * with `worker_processes 2`, same upstream, same run, interleaved rounds, best run per cell. A section of its own
 * (not rows in proxy.mjs) so the hot-path work there and this stay apart; it reuses that section's upstream.
 * Standalone: `node scripts/bench/proxy-workers.mjs [--seconds N]`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { request } from 'undici';
import { markdownSection } from './lib.mjs';

export const name = 'proxy-workers';
const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..', '..');
const TOKEN = 'bench-token-abc123';
const BANNER = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

function startChild(command, args, env = {}) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (c) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    void exited.then((code) => reject(new Error(`${command} exited (${code}) before listening: ${stderr.slice(-500)}`)));
  });
  return ready.then((msg) => ({ ...msg, pid: child.pid, stop: async () => { child.kill('SIGTERM'); await exited; } }));
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function startNginx(dir, upstreamPort, workers) {
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  await writeFile(conf, `worker_processes ${workers}; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/pt; fastcgi_temp_path ${dir}/ft; uwsgi_temp_path ${dir}/ut; scgi_temp_path ${dir}/st;
  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
  }
}
`);
  const child = spawn('nginx', ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 100; i++) {
    const ok = await request(`http://127.0.0.1:${port}/`).then((r) => r.body.dump().then(() => true), () => false);
    if (ok) break;
    if (i === 99) throw new Error('nginx did not answer within 5 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: child.pid, port, stop: async () => { child.kill('SIGQUIT'); await exited; } };
}

/** utime+stime in µs of a process and its child processes (nginx's and our workers). */
async function cpuMicros(pid) {
  const pids = [pid];
  try {
    for (const t of (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/)) if (t) pids.push(Number(t));
  } catch { /* the process alone */ }
  let ticks = 0;
  for (const p of pids) {
    const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return (ticks / 100) * 1e6;
}

const toMs = (v, unit) => Number(v) * ({ us: 1e-3, ms: 1, s: 1000 }[unit] ?? 1);

function wrk(url, connections, seconds) {
  return new Promise((resolve, reject) => {
    // Two client threads: one wrk thread would be the bottleneck against two server processes.
    const child = spawn('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', '-H', `Authorization: Bearer ${TOKEN}`, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk failed (${code}): ${out}`));
      const p = (q) => {
        const m = new RegExp(`^\\s+${q}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out);
        return m ? toMs(m[1], m[2]) : NaN;
      };
      resolve({ rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), p50: p(50), p99: p(99), errors: (out.match(/Socket errors:.*|Non-2xx or 3xx responses:.*/g) ?? []).join('; ') });
    });
  });
}

const f0 = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const f1 = (n) => (Number.isFinite(n) ? n.toFixed(1) : '—');
const f2 = (n) => (Number.isFinite(n) ? n.toFixed(2) : '—');

export async function run(ctx = {}) {
  const seconds = ctx.seconds ?? (ctx.quick ? 2 : 5);
  const rounds = ctx.runs ?? (ctx.quick ? 1 : 2);
  const log = ctx.log ?? ((m) => process.stderr.write(`[proxy-workers] ${m}\n`));
  const dir = await mkdtemp(join(tmpdir(), 'dstack-bench-pw-'));
  const stops = [];
  try {
    const { build } = await import('esbuild');
    const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', banner: { js: BANNER }, logLevel: 'error' };
    const server = join(dir, 'server.mjs');
    const worker = join(dir, 'worker.mjs');
    await build({ ...common, entryPoints: [join(here, 'proxy-workers-server.ts')], outfile: server });
    await build({ ...common, stdin: { contents: "import { runProxyWorker } from './src/proxy/workers/main.ts'; runProxyWorker();", resolveDir: ROOT, loader: 'ts' }, outfile: worker });

    const upstream = await startChild(process.execPath, [join(here, 'proxy-upstream.mjs')]);
    stops.push(upstream.stop);
    const nginx = await startNginx(dir, upstream.port, 2);
    stops.push(nginx.stop);
    const proxy = await startChild(process.execPath, [server], { UPSTREAM: `http://127.0.0.1:${upstream.port}`, TOKEN, WORKER_SCRIPT: worker, SOCKET: join(dir, 'p.sock'), WORKERS: '2' });
    stops.push(proxy.stop);
    const targets = [
      { name: 'nginx, worker_processes 2', url: `http://127.0.0.1:${nginx.port}/`, pid: nginx.pid },
      { name: 'dstack proxy, proxy_workers 2 (auth + stats)', url: `http://127.0.0.1:${proxy.port}/proxy/services/main/svc/`, pid: proxy.pid },
    ];
    for (const t of targets) {
      const probe = await request(t.url, { headers: { authorization: `Bearer ${TOKEN}` } });
      await probe.body.dump();
      if (probe.statusCode !== 200) throw new Error(`${t.name} answered ${probe.statusCode} at ${t.url}`);
      await wrk(t.url, 64, 1);
    }
    const results = new Map();
    for (let round = 0; round < rounds; round++) {
      for (const c of [64, 256]) {
        for (const t of targets) {
          log(`wrk -t2 ${t.name} c${c} ${seconds}s (round ${round + 1}/${rounds})`);
          const cpu0 = await cpuMicros(t.pid);
          const r = await wrk(t.url, c, seconds);
          const cpu = (await cpuMicros(t.pid)) - cpu0;
          const key = `${t.name}/${c}`;
          if (!(results.get(key)?.rps >= r.rps)) results.set(key, { ...r, cpuPerReq: cpu / (r.rps * seconds) });
        }
      }
    }
    const at = (t, c) => results.get(`${t.name}/${c}`);
    const rows = targets.map((t) => [
      t.name,
      f0(at(t, 64).rps),
      `${f2(at(t, 64).p50)} / ${f1(at(t, 64).p99)}`,
      f0(at(t, 256).rps),
      `${f2(at(t, 256).p50)} / ${f1(at(t, 256).p99)}`,
      `${f2(at(t, 64).rps / at(targets[0], 64).rps)} / ${f2(at(t, 256).rps / at(targets[0], 256).rps)}`,
      f0(at(t, 64).cpuPerReq),
    ]);
    const errors = [...results.entries()].filter(([, r]) => r.errors).map(([k, r]) => `${k}: ${r.errors}`);
    return {
      title: `2 proxy workers vs nginx worker_processes 2 (wrk -t2, ${seconds}s runs, best of ${rounds} interleaved, 127.0.0.1, same upstream)`,
      columns: ['target', 'req/s c64', 'p50 / p99 c64 (ms)', 'req/s c256', 'p50 / p99 c256 (ms)', '×nginx c64 / c256', 'CPU µs/req c64 (all processes)'],
      rows,
      notes: [
        `Worker pids ${proxy.pids.join(', ')} under primary ${proxy.pid}; CPU counts the primary (stats replay from IPC) and both workers.`,
        'Everything shares the same cores (wrk, upstream, both proxies): on a 2-core box two workers compete with wrk and the upstream, so compare ratios within this run.',
        ...(errors.length ? [`wrk reported: ${errors.join(' | ')}`] : []),
      ],
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--seconds');
  console.log(markdownSection(await run({ seconds: i > 0 ? Number(process.argv[i + 1]) : 5 })));
}
