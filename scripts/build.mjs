#!/usr/bin/env node
// Bundles the CLI (dist/main.js + lazy chunks) and the host agent (dist/agent.js, one file) with esbuild.
// Why each option is here: reference/node-packages.md §2–3 (ESM because ink has top-level await; the
// createRequire banner for CJS deps; react-devtools-core stub; externals that ssh2/oclif only try to load).
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { agentTrimPlugin } from './agent-trim.mjs';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DIST = join(ROOT, 'dist');
const AGENT_ENTRY = join(ROOT, 'src/agent/main.ts');

// `import.meta.url` is a data: URL when the agent runs as a single-file SEA (recipe B), so fall back to the executable.
const BANNER = [
  "import { createRequire as __dstackCreateRequire } from 'node:module';",
  "import { fileURLToPath as __dstackToPath, pathToFileURL as __dstackToUrl } from 'node:url';",
  "import { dirname as __dstackDirname } from 'node:path';",
  "const __dstackBase = import.meta.url.startsWith('file:') ? import.meta.url : __dstackToUrl(process.execPath).href;",
  'const require = __dstackCreateRequire(__dstackBase);',
  'const __filename = __dstackToPath(__dstackBase);',
  'const __dirname = __dstackDirname(__filename);',
].join('\n');

function commonOptions(version) {
  return {
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    banner: { js: BANNER },
    alias: { 'react-devtools-core': join(ROOT, 'stubs/react-devtools-core.js') },
    // ssh2 falls back to pure JS without its native addons; `typescript` is oclif's dev-only tsconfig reader.
    external: ['cpu-features', '*.node', 'typescript'],
    mainFields: ['module', 'main'],
    // The shipped offers catalogs (catalog/*.csv + .version, imported with `?raw`) are inlined as text.
    loader: { '.csv': 'text', '.version': 'text' },
    define: {
      __DSTACK_VERSION__: JSON.stringify(version),
      'process.env.NODE_ENV': '"production"',
    },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  };
}

/** Source files reached from the entry through static imports only (what `dstack --version` evaluates). */
export function staticInputs(metafile, entryOutput) {
  const seen = new Set();
  const queue = [entryOutput];
  const inputs = new Set();
  while (queue.length > 0) {
    const out = queue.pop();
    if (seen.has(out) || !metafile.outputs[out]) continue;
    seen.add(out);
    for (const input of Object.keys(metafile.outputs[out].inputs)) inputs.add(input);
    for (const imp of metafile.outputs[out].imports) if (imp.kind === 'import-statement' && !imp.external) queue.push(imp.path);
  }
  return inputs;
}

const isUiRuntime = (p) => /node_modules\/(ink|react|react-reconciler|yoga-layout)\//.test(p);

/** Our files that pull Ink/React into the eager graph, to name them in the warning. */
function eagerInkCulprits(metafile, inputs) {
  return [...inputs].filter((p) => !p.includes('node_modules') && (metafile.inputs[p]?.imports ?? []).some((i) => i.kind === 'import-statement' && isUiRuntime(i.path)));
}

async function buildMain(version) {
  const result = await esbuild.build({
    ...commonOptions(version),
    // main.js is tiny (--version answers from it alone); commands.js is oclif's explicit target (COMMANDS).
    entryPoints: { main: join(ROOT, 'src/main.ts'), commands: join(ROOT, 'src/commands/index.ts') },
    outdir: DIST,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  });
  const eager = new Set([...staticInputs(result.metafile, 'dist/main.js'), ...staticInputs(result.metafile, 'dist/commands.js')]);
  if ([...eager].some(isUiRuntime)) {
    const culprits = eagerInkCulprits(result.metafile, eager);
    console.warn(`build: WARNING ink/react is loaded eagerly (slows --version and --json); import Ink views with await import() in: ${culprits.join(', ') || '(see out/build-meta.json)'}`);
  }
  return result.metafile;
}

async function buildAgent(version) {
  if (!existsSync(AGENT_ENTRY)) {
    console.warn('build: src/agent/main.ts does not exist yet; skipping dist/agent.js');
    return undefined;
  }
  const result = await esbuild.build({
    ...commonOptions(version),
    entryPoints: [AGENT_ENTRY],
    outfile: join(DIST, 'agent.js'),
    // Idle RSS (issue 15): dependency code the agent never reaches stays out, and whitespace/comments go, because
    // the source is held in memory twice over at startup (and one non-Latin-1 comment character makes V8 keep
    // it as a two-byte string). Identifiers are kept, so stack traces stay readable.
    plugins: [agentTrimPlugin()],
    minifyWhitespace: true,
  });
  const forbidden = Object.keys(result.metafile.inputs).filter((p) => isUiRuntime(p) || /node_modules\/(@oclif|ssh2|@grpc|protobufjs)\//.test(p));
  if (forbidden.length > 0) throw new Error(`build: the agent must not bundle ink/react/oclif/ssh2/grpc, but it includes: ${forbidden.slice(0, 5).join(', ')}`);
  return result.metafile;
}

/** oclif needs a package.json beside the bundle (explicit strategy: the bundle is its own command target). */
function distPackageJson(pkg) {
  const oclif = { ...pkg.oclif, commands: { strategy: 'explicit', target: './commands.js', identifier: 'COMMANDS' } };
  return { name: 'dstack', version: pkg.version, type: 'module', private: true, oclif };
}

export async function build() {
  const started = performance.now();
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  // Stale chunks would otherwise be packed into the single binary.
  await Promise.all(['main.js', 'commands.js', 'agent.js', 'chunks', 'package.json'].map((p) => rm(join(DIST, p), { recursive: true, force: true })));
  await mkdir(DIST, { recursive: true });
  const [main, agent] = await Promise.all([buildMain(pkg.version), buildAgent(pkg.version)]);
  await writeFile(join(DIST, 'package.json'), `${JSON.stringify(distPackageJson(pkg), null, 2)}\n`);
  await mkdir(join(ROOT, 'out'), { recursive: true });
  await writeFile(join(ROOT, 'out/build-meta.json'), JSON.stringify({ main, agent }));
  console.error(`build: dist/main.js${agent ? ' + dist/agent.js' : ''} (v${pkg.version}) in ${Math.round(performance.now() - started)} ms`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  build().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
