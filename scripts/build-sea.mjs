#!/usr/bin/env node
// Single binaries from the bundles in dist/ (run scripts/build.mjs first): dist/bin/dstack and dist/bin/dstack-agent,
// Node 20 SEAs made from this machine's `node` (stripped when `strip` exists) and postject. The loader is
// scripts/sea-entry.cjs: on first run each binary extracts its files (+ package.json) to a content-hashed cache
// dir and imports its main from there. Recipe and constraints: reference/node-packages.md §2.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const WORK = join(ROOT, 'out/sea');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function listFiles(dir, skip) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (skip(relative(DIST, p))) return [];
    return e.isDirectory() ? listFiles(p, skip) : [relative(DIST, p)];
  });
}

function contentHash(files) {
  const h = createHash('sha256').update(process.version);
  for (const f of files) h.update(`${f}\0`).update(readFileSync(join(DIST, f)));
  return h.digest('hex').slice(0, 16);
}

/** One stripped copy of this machine's node per build; stripping 99 MB takes seconds, so do it once. */
function baseNode() {
  const stripped = join(WORK, `node-${process.version}`);
  if (existsSync(stripped) && statSync(stripped).mtimeMs >= statSync(process.execPath).mtimeMs) return stripped;
  mkdirSync(WORK, { recursive: true });
  copyFileSync(process.execPath, stripped);
  chmodSync(stripped, 0o755);
  const strip = spawnSync('strip', [stripped], { stdio: 'inherit' });
  if (strip.error) console.warn('build-sea: `strip` not found; the binaries keep their symbols (about 10 MB larger)');
  return stripped;
}

/** Writes a SEA config to `configPath` and runs `node --experimental-sea-config` on it; the blob is `config.output`. */
export function seaBlob(config, configPath) {
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const prep = spawnSync(process.execPath, ['--experimental-sea-config', configPath], { encoding: 'utf8' });
  if (prep.status !== 0) throw new Error(`build-sea: node --experimental-sea-config failed: ${prep.stderr || prep.error?.message}`);
  return config.output;
}

/** Makes `out` a single binary: a copy of this machine's node (stripped, see baseNode) with `blob` injected. */
export async function injectBlob(out, blob) {
  rmSync(out, { force: true });
  copyFileSync(baseNode(), out);
  chmodSync(out, 0o755);
  const { inject } = createRequire(import.meta.url)('postject');
  // postject warns "Can't find string offset for section name '.note.100'" on this node; harmless (verified).
  const warn = console.warn;
  console.warn = () => {};
  try {
    await inject(out, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: FUSE });
  } finally {
    console.warn = warn;
  }
}

async function makeBinary({ name, main, files }) {
  const work = join(WORK, name);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const manifest = { main, files, hash: contentHash(files) };
  writeFileSync(join(work, 'manifest.json'), JSON.stringify(manifest));
  const assets = Object.fromEntries([['manifest.json', join(work, 'manifest.json')], ...files.map((f) => [f, join(DIST, f)])]);
  const blob = join(work, 'sea.blob');
  seaBlob({ main: join(ROOT, 'scripts/sea-entry.cjs'), output: blob, disableExperimentalSEAWarning: true, useCodeCache: false, assets }, join(work, 'sea-config.json'));
  const out = join(DIST, 'bin', name);
  mkdirSync(join(DIST, 'bin'), { recursive: true });
  await injectBlob(out, blob);
  return { out, size: statSync(out).size, files: files.length };
}

export async function buildSea() {
  const started = performance.now();
  if (!existsSync(join(DIST, 'main.js')) || !existsSync(join(DIST, 'package.json'))) {
    throw new Error('build-sea: dist/main.js is missing: run npm run build first (or npm run build:binary)');
  }
  const cliFiles = listFiles(DIST, (p) => p === 'bin' || p === 'agent.js');
  const built = [await makeBinary({ name: 'dstack', main: 'main.js', files: cliFiles })];
  if (existsSync(join(DIST, 'agent.js'))) {
    built.push(await makeBinary({ name: 'dstack-agent', main: 'agent.js', files: ['agent.js', 'package.json'] }));
  } else {
    console.warn('build-sea: dist/agent.js is missing (src/agent/main.ts not written yet?); skipping dist/bin/dstack-agent');
  }
  for (const b of built) console.error(`build-sea: ${relative(ROOT, b.out)} ${(b.size / 2 ** 20).toFixed(1)} MiB (${b.files} bundled files)`);
  console.error(`build-sea: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  buildSea().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
