#!/usr/bin/env node
// Builds the issue 15 startup-snapshot prototype under out/snapshot/ (git-ignored), from src/ and dist/main.js
// as they are now; the product build (scripts/build.mjs, build-sea.mjs) is untouched. Outputs:
//   validate-<variant>.cjs   scripts/snapshot/validate-entry.ts bundled to one CommonJS script
//   validate-<variant>.blob  `node --snapshot-blob … --build-snapshot` of it (run: node --snapshot-blob B validate …)
//   dstack-snap-<variant>    a Node 20 SEA with `useSnapshot: true` (only with { sea: true })
// Variants: `cold` (modules evaluated, schemas built) and `warm` (also one service and one fleet parsed).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const OUT = join(ROOT, 'out/snapshot');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * The same as scripts/build.mjs's zodEnglishOnlyPlugin (not exported there, and that file is not this task's):
 * zod's `z.locales` would add all 64 translations, which the product bundle leaves out.
 */
function zodEnglishOnly() {
  return {
    name: 'zod-english-only',
    setup(b) {
      b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        /node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: join(dirname(args.importer), '../locales/en.js').replace(/\.js$/, '.index.js'), namespace: 'zod-locales' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
        contents: `export { default as en } from ${JSON.stringify(args.path.replace(/\.index\.js$/, '.js'))};\n`,
        resolveDir: dirname(args.path),
      }));
    },
  };
}

/** As scripts/build.mjs's banner: the ESM bundle's CommonJS dependencies (yaml) call require('process'). */
const ESM_BANNER = [
  "import { createRequire as __dstackCreateRequire } from 'node:module';",
  'const require = __dstackCreateRequire(import.meta.url);',
].join('\n');

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
    plugins: [zodEnglishOnly()],
    legalComments: 'none',
    logLevel: 'error',
  });
  return outfile;
}

function run(args, what) {
  const r = spawnSync(process.execPath, args, { cwd: OUT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`snapshot: ${what} failed (exit ${r.status}): ${(r.stderr || r.error?.message || '').slice(0, 800)}`);
}

/** The SEA: this node (the stripped copy build-sea.mjs keeps, when there is one) with a useSnapshot blob injected. */
async function sea(entry, variant) {
  const blob = join(OUT, `sea-${variant}.blob`);
  const config = join(OUT, `sea-${variant}.json`);
  writeFileSync(config, JSON.stringify({ main: entry, output: blob, disableExperimentalSEAWarning: true, useSnapshot: true }));
  run(['--experimental-sea-config', config], 'node --experimental-sea-config (useSnapshot)');
  const stripped = join(ROOT, 'out/sea', `node-${process.version}`);
  const out = join(OUT, `dstack-snap-${variant}`);
  rmSync(out, { force: true });
  copyFileSync(existsSync(stripped) ? stripped : process.execPath, out);
  chmodSync(out, 0o755);
  const { inject } = createRequire(import.meta.url)('postject');
  const warn = console.warn;
  console.warn = () => {};
  try {
    await inject(out, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: FUSE });
  } finally {
    console.warn = warn;
  }
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
    banner: { js: ESM_BANNER },
    plugins: [zodEnglishOnly()],
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
