// Shared helpers for `npm run bench` sections (scripts/bench/*.mjs). Figures are always printed beside a
// reference measured in the same run (DESIGN.md §7): this machine is noisy, so compare ratios, not absolutes.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The q-quantile (0..1) of numbers, nearest-rank on a sorted copy. */
export function percentile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Wall time of `cmd args` over n runs after `warmup` runs (page cache, first-run extraction).
 * Fails loudly if the command exits non-zero: a fast failure is not a result.
 */
export function timeCommand(cmd, args = [], n = 10, { warmup = 2, env = process.env, cwd } = {}) {
  const once = () => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 2 ** 20 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.error || r.status !== 0) {
      throw new Error(`bench: \`${[cmd, ...args].join(' ')}\` failed (${r.error?.message ?? `exit ${r.status}`}): ${String(r.stderr).slice(0, 400)}`);
    }
    return ms;
  };
  for (let i = 0; i < warmup; i++) once();
  const samples = Array.from({ length: n }, once);
  return { samples, median: median(samples), min: Math.min(...samples), p90: percentile(samples, 0.9), max: Math.max(...samples) };
}

/** Resident set size of a live process in MiB (Linux /proc), NaN once it is gone. */
export function rss(pid, field = 'VmRSS') {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

export const fmt = {
  ms: (n) => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(1)) : '—'),
  ratio: (n) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '—'),
  mib: (n) => (Number.isFinite(n) ? n.toFixed(1) : '—'),
};

const cell = (v) => String(v ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ');

/** One section as Markdown: a heading, a table, and notes as a bullet list. */
export function markdownSection({ title, columns, rows, notes = [] }) {
  const lines = [`### ${title}`, '', `| ${columns.map(cell).join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  if (notes.length > 0) lines.push('', ...notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

/**
 * A port for another process to bind (a daemon, a server): random below the ephemeral range and checked free, so
 * it cannot be handed to an outgoing connection in between (as test/helpers/net.ts freePort, and why).
 */
export async function freeLocalPort() {
  const { createServer } = await import('node:net');
  for (;;) {
    const candidate = 20_000 + Math.floor(Math.random() * 10_000);
    const free = await new Promise((resolve) => {
      const s = createServer()
        .once('error', () => resolve(false))
        .listen(candidate, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return candidate;
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** esbuild options shared by the bench bundles: as scripts/build.mjs bundles the product — ssh2 inside with its CJS
 * named exports, native addons left out, `require`/`__dirname` available in ESM. */
const BUNDLE = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['cpu-features', '*.node'],
  // As scripts/build.mjs: the shipped offers catalogs (catalog/*.csv + .version, imported with `?raw`) are text.
  loader: { '.csv': 'text', '.version': 'text' },
  define: { __DSTACK_VERSION__: '"0.1.0"' },
  banner: {
    js: [
      "import { createRequire as __cr } from 'node:module';",
      "import { fileURLToPath as __tp } from 'node:url';",
      "import { dirname as __dn } from 'node:path';",
      'const require = __cr(import.meta.url);',
      'const __filename = __tp(import.meta.url);',
      'const __dirname = __dn(__filename);',
    ].join(' '),
  },
  logLevel: 'error',
};

/** Bundles one entry point (a path relative to the repository root) into out/bench-<section>/<out>; returns its path. */
export async function bundleEntry(section, entry, out) {
  const { build } = await import('esbuild');
  const outfile = join(ROOT, 'out', `bench-${section}`, out);
  await build({ ...BUNDLE, entryPoints: [join(ROOT, entry)], outfile });
  return outfile;
}

/**
 * Bundles `exports` (lines like "export { x } from './src/….ts';", relative to the repository root) into
 * out/bench-<name>/<name>-modules.mjs, and imports it.
 */
export async function bundleModules(name, exports) {
  const { build } = await import('esbuild');
  const outfile = join(ROOT, 'out', `bench-${name}`, `${name}-modules.mjs`);
  await build({ ...BUNDLE, stdin: { contents: exports.join('\n'), resolveDir: ROOT, loader: 'ts' }, outfile });
  return import(pathToFileURL(outfile).href);
}

/** A daemon API call with the admin token; a non-200 answer throws `bench <section>: METHOD path: HTTP …`. */
export async function daemonApi(section, daemon, token, method, path, body) {
  const res = await fetch(`${daemon.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`bench ${section}: ${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Polls `check` every 50 ms until it returns a truthy value; HTTP errors count as "not yet", the section's own errors stop it. */
export async function pollUntil(section, what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await check().catch((e) => {
      if (e.message.startsWith(`bench ${section}:`) && !e.message.includes('HTTP')) throw e;
      return undefined;
    });
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`bench ${section}: ${what} did not happen in time`);
}

/**
 * A bench's own PostgreSQL cluster (scripts/test-postgres.sh with `settings`: its folder, port, fsync), started on
 * first use, and fresh databases on it as URLs (`<prefix>_<random>`).
 */
export function benchCluster(settings) {
  const cluster = (verb) =>
    execFileSync(join(ROOT, 'scripts/test-postgres.sh'), [verb], { encoding: 'utf8', env: { ...process.env, ...settings } }).trim();
  async function freshDatabase(prefix) {
    const admin = cluster('up');
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    const db = `${prefix}_${randomBytes(4).toString('hex')}`;
    try {
      await client.query(`CREATE DATABASE ${db}`);
    } finally {
      await client.end();
    }
    const url = new URL(admin);
    url.pathname = `/${db}`;
    return url.toString();
  }
  return { cluster, freshDatabase };
}
