#!/usr/bin/env node
// Builds the issue 15 startup-snapshot prototype under out/snapshot/ (git-ignored), from src/ and dist/main.js
// as they are now; the product build (scripts/build.mjs, build-sea.mjs) is untouched. Outputs:
//   validate-<variant>.cjs   scripts/snapshot/validate-entry.ts bundled to one CommonJS script
//   validate-<variant>.blob  `node --snapshot-blob … --build-snapshot` of it (run: node --snapshot-blob B validate …)
//   dstack-snap-<variant>    a Node 20 SEA with `useSnapshot: true` (only with { sea: true })
// Variants: `cold` (modules evaluated, schemas built) and `warm` (also one service and one fleet parsed).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BANNER, zodEnglishOnlyPlugin } from '../build.mjs';
import { injectBlob, seaBlob } from '../build-sea.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const OUT = join(ROOT, 'out/snapshot');

async function bundle(variant, fallbackMain) {
  const { build } = await import('esbuild');
  const outfile = join(OUT, `validate-${variant}.cjs`);
  await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'scripts/snapshot/validate-entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    mainFields: ['module', 'main'],
    loader: { '.csv': 'text', '.version': 'text' },
    define: {
      __DSTACK_VERSION__: '"0.1.0"',
      'process.env.NODE_ENV': '"production"',
      __DSTACK_FALLBACK_MAIN__: JSON.stringify(fallbackMain),
      __DSTACK_SNAPSHOT_WARM__: String(variant === 'warm'),
    },
    plugins: [zodEnglishOnlyPlugin()],
    legalComments: 'none',
    logLevel: 'error',
  });
  return outfile;
}

function run(args, what) {
  const r = spawnSync(process.execPath, args, { cwd: OUT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`snapshot: ${what} failed (exit ${r.status}): ${(r.stderr || r.error?.message || '').slice(0, 800)}`);
}

/** The SEA: this node (the stripped copy build-sea.mjs makes) with a useSnapshot blob injected. */
async function sea(entry, variant) {
  const blob = seaBlob({ main: entry, output: join(OUT, `sea-${variant}.blob`), disableExperimentalSEAWarning: true, useSnapshot: true }, join(OUT, `sea-${variant}.json`));
  const out = join(OUT, `dstack-snap-${variant}`);
  await injectBlob(out, blob);
  return out;
}

/** scripts/snapshot/breakdown-entry.ts as dist/ is built (ESM, split chunks, English-only zod). */
export async function buildBreakdown() {
  const { build } = await import('esbuild');
  const outdir = join(OUT, 'breakdown');
  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: { entry: join(ROOT, 'scripts/snapshot/breakdown-entry.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    mainFields: ['module', 'main'],
    loader: { '.csv': 'text', '.version': 'text' },
    define: { __DSTACK_VERSION__: '"0.1.0"', 'process.env.NODE_ENV': '"production"' },
    banner: { js: BANNER },
    plugins: [zodEnglishOnlyPlugin()],
    legalComments: 'none',
    logLevel: 'error',
  });
  return join(outdir, 'entry.mjs');
}

/** The least a custom snapshot costs: an empty heap of ours and a main that does nothing. */
export function buildFloor() {
  mkdirSync(OUT, { recursive: true });
  const entry = join(OUT, 'floor.cjs');
  writeFileSync(entry, "require('node:v8').startupSnapshot.setDeserializeMainFunction(() => {});\n");
  const blob = join(OUT, 'floor.blob');
  run(['--snapshot-blob', blob, '--build-snapshot', entry], 'node --build-snapshot (floor)');
  return blob;
}

/**
 * Builds one variant; returns the paths and how long each step took. `fallbackMain` is the CLI bundle other
 * command lines run (dist/main.js unless the caller measures a copy of dist/).
 */
export async function buildSnapshot(variant = 'warm', { withSea = false, fallbackMain = join(ROOT, 'dist/main.js') } = {}) {
  if (!existsSync(fallbackMain)) throw new Error(`snapshot: ${fallbackMain} is missing: run npm run build`);
  mkdirSync(OUT, { recursive: true });
  const t0 = performance.now();
  const entry = await bundle(variant, fallbackMain);
  const t1 = performance.now();
  const blob = join(OUT, `validate-${variant}.blob`);
  run(['--snapshot-blob', blob, '--build-snapshot', entry], 'node --build-snapshot');
  const t2 = performance.now();
  const binary = withSea ? await sea(entry, variant) : undefined;
  const t3 = performance.now();
  return {
    entry,
    blob,
    binary,
    sizes: { entry: statSync(entry).size, blob: statSync(blob).size, binary: binary ? statSync(binary).size : undefined },
    ms: { bundle: t1 - t0, snapshot: t2 - t1, sea: t3 - t2 },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('breakdown')) console.error(`breakdown: ${await buildBreakdown()}`);
  const variants = process.argv.slice(2).filter((a) => !a.startsWith('-') && a !== 'breakdown');
  for (const v of variants.length > 0 ? variants : ['cold', 'warm']) {
    const r = await buildSnapshot(v, { withSea: process.argv.includes('--sea') });
    console.error(`snapshot ${v}: ${JSON.stringify(r)}`);
  }
}
