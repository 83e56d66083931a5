#!/usr/bin/env node
// Bundles the CLI (dist/main.js + lazy chunks) and the host agent (dist/agent.js, one file) with esbuild.
// Why each option is here: reference/node-packages.md §2–3 (ESM because ink has top-level await; the
// createRequire banner for CJS deps; react-devtools-core stub; externals that ssh2/oclif only try to load).
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { agentLazyUnitsPlugin, agentTrimPlugin } from './agent-trim.mjs';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DIST = join(ROOT, 'dist');
const AGENT_ENTRY = join(ROOT, 'src/agent/main.ts');
const WEB_ENTRY = join(ROOT, 'src/web/main.tsx');
const WEB_ASSETS_MODULE = join(ROOT, 'src/web/assets.ts');
/** Issue 18: the dashboard adds at most this much (gzipped) to the binary. */
const WEB_BUDGET_GZIP = 300 * 1024;

// `import.meta.url` is a data: URL when the agent runs as a single-file SEA (recipe B), so fall back to the executable.
export const BANNER = [
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

/**
 * The registry (src/commands/index.ts) read as data: `import X from './x.js'` and `id: X` lines, grouped by the
 * command line's first word (`fleet` → fleet, fleet:delete, fleet:list). Each group becomes dist/cmd/<word>.js,
 * an oclif explicit target with just those commands, so `dstack validate` loads neither undici nor the other
 * commands (issue 15); src/main.ts picks the group, `--help` and bare `dstack` keep the whole registry.
 */
export async function commandGroups() {
  const text = await readFile(join(ROOT, 'src/commands/index.ts'), 'utf8');
  const files = new Map([...text.matchAll(/^import (\w+) from '\.\/([\w-]+)\.js';$/gm)].map((m) => [m[1], m[2]]));
  const body = /COMMANDS[^=]*=\s*\{([^}]*)\}/.exec(text)?.[1] ?? '';
  const groups = new Map();
  for (const [, id, cls] of body.matchAll(/^\s*'?([\w:-]+)'?:\s*(\w+),?$/gm)) {
    const file = files.get(cls);
    if (!file) throw new Error(`build: src/commands/index.ts registers ${cls} (${id}) without a default import build.mjs can read`);
    const word = id.split(':')[0];
    groups.set(word, [...(groups.get(word) ?? []), { id, cls, file }]);
  }
  if (groups.size === 0) throw new Error('build: found no commands in src/commands/index.ts');
  return groups;
}

/**
 * The dashboard (src/web, issue 18) for browsers: Preact + the pages as one minified ES module and one stylesheet,
 * built in memory. The daemon's bundle gets them as the text of src/web/assets.ts (webAssetsPlugin), which the
 * daemon imports lazily, so they ride in a chunk of their own and in the single binary with it.
 */
async function buildWeb() {
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [WEB_ENTRY],
    bundle: true,
    write: false,
    outdir: join(ROOT, 'out/web'),
    platform: 'browser',
    format: 'esm',
    target: ['chrome111', 'firefox115', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    logLevel: 'warning',
  });
  const text = (ext) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  const assets = { js: text('.js'), css: text('.css') };
  const gz = { js: gzipSync(assets.js, { level: 9 }).length, css: gzipSync(assets.css, { level: 9 }).length };
  const total = gz.js + gz.css;
  const kb = (n) => (n / 1024).toFixed(1);
  console.error(`build: dashboard ${kb(total)} KB gzipped (js ${kb(gz.js)} KB, css ${kb(gz.css)} KB; budget ${kb(WEB_BUDGET_GZIP)} KB)`);
  if (total > WEB_BUDGET_GZIP) throw new Error(`build: the dashboard is ${kb(total)} KB gzipped, over its ${kb(WEB_BUDGET_GZIP)} KB budget (issue 18)`);
  return { assets, metafile: result.metafile };
}

/** src/web/assets.ts as the daemon's bundle sees it: the dashboard just built, as two strings. */
function webAssetsPlugin(assets) {
  return {
    name: 'dstack-web-assets',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]web[\\/]assets\.ts$/ }, (args) =>
        args.path === WEB_ASSETS_MODULE ? { contents: `export const WEB_ASSETS = ${JSON.stringify(assets)};\n`, loader: 'js' } : undefined,
      );
    },
  };
}

/** Resolves `dstack-command-group:<word>` entry points to a generated module exporting that group's COMMANDS. */
function commandGroupsPlugin(groups) {
  return {
    name: 'dstack-command-groups',
    setup(b) {
      b.onResolve({ filter: /^dstack-command-group:/ }, (args) => ({ path: args.path.slice('dstack-command-group:'.length), namespace: 'dstack-command-group' }));
      b.onLoad({ filter: /.*/, namespace: 'dstack-command-group' }, (args) => {
        const group = groups.get(args.path) ?? [];
        const imports = group.map((c) => `import ${c.cls} from './${c.file}.js';`).join('\n');
        const entries = group.map((c) => `  ${JSON.stringify(c.id)}: ${c.cls},`).join('\n');
        return { contents: `${imports}\nexport const COMMANDS = {\n${entries}\n};\n`, resolveDir: join(ROOT, 'src/commands'), loader: 'ts' };
      });
    },
  };
}

/**
 * zod's `z.locales` namespace pulls in all 64 translations (~200 KiB evaluated by every command); the CLI only
 * uses English, which zod's schemas import directly. Nothing here reads `z.locales`.
 */
export function zodEnglishOnlyPlugin() {
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

const isUiRuntime = (p) => /node_modules\/(ink|react|react-reconciler|yoga-layout)\//.test(p);

/** Our files that pull Ink/React into the eager graph, to name them in the warning. */
function eagerInkCulprits(metafile, inputs) {
  return [...inputs].filter((p) => !p.includes('node_modules') && (metafile.inputs[p]?.imports ?? []).some((i) => i.kind === 'import-statement' && isUiRuntime(i.path)));
}

/**
 * Issue 15: the direct paths of `validate` and `ps` (src/main.ts) also as one CommonJS file each, dist/hot/<name>-
 * <hash>.cjs, which src/code-cache.ts compiles with V8's code cache (Node 20 caches no module compiles); the content
 * hash in the name keys that cache. undici stays out: ps never streams, and an import() it did make would fail in
 * vm.Script and hand the command line to oclif (ps-direct.ts falls back on any error).
 */
export const HOT_ENTRIES = { validate: 'src/commands/validate-direct.ts', ps: 'src/commands/ps-direct.ts' };

async function buildHot(version) {
  const options = commonOptions(version);
  const result = await esbuild.build({
    ...options,
    format: 'cjs',
    // require, __filename and __dirname come from code-cache.ts's wrapper; the ESM banner's imports are not CJS.
    banner: {},
    external: [...options.external, 'undici'],
    entryPoints: Object.fromEntries(Object.entries(HOT_ENTRIES).map(([name, entry]) => [name, join(ROOT, entry)])),
    outdir: join(DIST, 'hot'),
    entryNames: '[name]-[hash]',
    outExtension: { '.js': '.cjs' },
    plugins: [zodEnglishOnlyPlugin()],
    // Less source to read and hold (measured ~10-20 ms CPU of `validate`). Stack traces from these files are not
    // readable, and do not need to be: any error that is not the user's hands the command line to oclif, whose
    // chunks are not minified. No keepNames (it cost as much as minifying saves); nothing here prints a class name.
    minify: true,
  });
  const ui = Object.keys(result.metafile.inputs).filter(isUiRuntime);
  if (ui.length > 0) throw new Error(`build: dist/hot must not bundle ink/react (they would load on every validate/ps), but it includes: ${ui.slice(0, 5).join(', ')}`);
  const files = {};
  for (const [out, { entryPoint }] of Object.entries(result.metafile.outputs)) {
    const name = Object.keys(HOT_ENTRIES).find((n) => entryPoint === HOT_ENTRIES[n]);
    if (name) files[name] = out.slice('dist/'.length);
  }
  if (Object.keys(files).length !== Object.keys(HOT_ENTRIES).length) throw new Error(`build: hot bundles missing from esbuild's output: ${JSON.stringify(files)}`);
  return { files, metafile: result.metafile };
}

async function buildMain(version, web, hot) {
  const groups = await commandGroups();
  const options = commonOptions(version);
  const result = await esbuild.build({
    ...options,
    // main.js is tiny (--version answers from it alone); commands.js is oclif's explicit target (COMMANDS) for
    // help, cmd/<word>.js the one a command line needs.
    entryPoints: {
      main: join(ROOT, 'src/main.ts'),
      commands: join(ROOT, 'src/commands/index.ts'),
      ...Object.fromEntries([...groups.keys()].map((w) => [`cmd/${w}`, `dstack-command-group:${w}`])),
    },
    define: {
      ...options.define,
      __DSTACK_COMMAND_IDS__: JSON.stringify([...groups.values()].flat().map((c) => c.id)),
      __DSTACK_HOT_BUNDLES__: JSON.stringify(hot.files),
    },
    plugins: [commandGroupsPlugin(groups), zodEnglishOnlyPlugin(), webAssetsPlugin(web.assets)],
    outdir: DIST,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  });
  const eager = new Set(['dist/main.js', 'dist/commands.js', ...[...groups.keys()].map((w) => `dist/cmd/${w}.js`)].flatMap((o) => [...staticInputs(result.metafile, o)]));
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
    // it as a two-byte string). Identifiers are kept, so stack traces stay readable. Modules the agent import()s
    // are inlined as CommonJS, so V8 creates none of their functions until they load (agent-trim.mjs).
    plugins: [agentTrimPlugin(), agentLazyUnitsPlugin()],
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
  await Promise.all(['main.js', 'commands.js', 'cmd', 'hot', 'agent.js', 'chunks', 'package.json'].map((p) => rm(join(DIST, p), { recursive: true, force: true })));
  await mkdir(DIST, { recursive: true });
  const [web, hot] = await Promise.all([buildWeb(), buildHot(pkg.version)]);
  const [main, agent] = await Promise.all([buildMain(pkg.version, web, hot), buildAgent(pkg.version)]);
  await writeFile(join(DIST, 'package.json'), `${JSON.stringify(distPackageJson(pkg), null, 2)}\n`);
  await mkdir(join(ROOT, 'out'), { recursive: true });
  await writeFile(join(ROOT, 'out/build-meta.json'), JSON.stringify({ main, agent, web: web.metafile, hot: hot.metafile }));
  console.error(`build: dist/main.js${agent ? ' + dist/agent.js' : ''} (v${pkg.version}) in ${Math.round(performance.now() - started)} ms`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  build().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
