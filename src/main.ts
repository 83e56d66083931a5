/**
 * The CLI entry, bundled to dist/main.js. It stays tiny so `dstack --version` costs one small file: the command
 * registry (dist/commands.js, oclif's explicit-strategy target, with zod/undici/yaml behind it) and oclif itself
 * are imported only when a command runs. No top-level await: a module still evaluating cannot be re-imported.
 */
import { fileURLToPath } from 'node:url';
import { NEEDS_DAEMON, ROLES } from './core/client/roles.js';
import { colorEnabled, createPainter } from './ui/colors.js';
import { formatErrorBanner } from './ui/error-banner.js';
import { closest } from './ui/suggest.js';

/** Replaced at bundle time by scripts/build.mjs (esbuild `define`). */
declare const __DSTACK_VERSION__: string | undefined;
/** Every command id, read from the registry by scripts/build.mjs, which also bundles dist/cmd/<first word>.js. */
declare const __DSTACK_COMMAND_IDS__: string[] | undefined;
/** dist/hot/<name>-<hash>.cjs of the direct paths run with V8's code cache (src/code-cache.ts), relative to dist/. */
declare const __DSTACK_HOT_BUNDLES__: Record<string, string> | undefined;

/** Command-line usage errors exit 2, as in BaseCommand (EXIT_USAGE). */
const EXIT_USAGE = 2;

function unknownCommand(word: string, known: Set<string>): void {
  const suggestion = closest(word, known);
  const painter = createPainter(colorEnabled({ isTTY: Boolean(process.stderr.isTTY) }));
  const hint = `${suggestion ? `Did you mean \`dstack ${suggestion}\`? ` : ''}Run \`dstack --help\` for the list of commands.`;
  process.stderr.write(formatErrorBanner({ kind: 'usage', message: `Unknown command "${word}"`, hint }, { painter }));
  process.exitCode = EXIT_USAGE;
}

async function runCommand(input: string[]): Promise<void> {
  // `dstack help ps` as in dstack; oclif alone only knows `dstack ps --help` (no help plugin in the bundle).
  const argv = input[0] === 'help' ? [...input.slice(1), '--help'] : input;
  // The daemon the CLI starts detached (core/client/auto-start.ts) needs neither oclif nor the command registry.
  if (argv[0] === ROLES.daemon && argv.length === 1) return (await import('./daemon/serve.js')).runDetachedDaemon();
  // A proxy worker of `server.proxy_workers`: the data plane only.
  if (argv[0] === ROLES.proxyWorker && argv.length === 1) return (await import('./proxy/workers/main.js')).runProxyWorker();
  // A command that needs the daemon starts a dead one now, so it boots while the command loads (issue 15).
  if (argv[0] !== undefined && NEEDS_DAEMON.has(argv[0])) (await import('./core/client/early-start.js')).startDaemonEarly(argv);
  // A catalog-only `dstack offer` needs neither oclif nor the registry (issue 13: ≤ 50 ms beyond --version).
  if (argv[0] === 'offer' && (await (await import('./commands/offer-direct.js')).offerWithoutDaemon(argv.slice(1)))) return;
  // `validate` spends most of its time loading oclif otherwise (issue 15: ≤ 2x `node -e 0`).
  // `ps` likewise (issue 15: `ps --json` ≤ 2x, the table ≤ 2.5x `node -e 0`).
  const direct =
    argv[0] === 'validate'
      ? await runHot('validate', () => import('./commands/validate-direct.js'), (m) => m.validateWithoutOclif(argv.slice(1)))
      : argv[0] === 'ps'
        ? await runHot('ps', () => import('./commands/ps-direct.js'), (m) => m.psWithoutOclif(argv.slice(1)))
        : undefined;
  if (direct !== undefined) {
    process.exitCode = direct;
    return;
  }
  const bundledIds = typeof __DSTACK_COMMAND_IDS__ === 'undefined' ? undefined : __DSTACK_COMMAND_IDS__;
  const ids = bundledIds ?? Object.keys((await import('./commands/index.js')).COMMANDS);
  // Top-level words: `apply`, and `fleet` for `fleet:apply`.
  const known = new Set(ids.map((id) => id.split(':')[0] ?? id));
  const [first] = argv;
  if (first !== undefined && !first.startsWith('-') && !known.has(first)) return unknownCommand(first, known);
  // A bundled dynamic import() of a CJS package yields {default: module.exports} (reference/node-packages.md §2).
  const oclif: typeof import('@oclif/core') & { default?: typeof import('@oclif/core') } = await import('@oclif/core');
  const { execute } = oclif.default ?? oclif;
  const group = bundledIds && first !== undefined && !first.startsWith('-') && !argv.some(isHelpFlag) ? await groupLoadOptions(first) : undefined;
  await execute(group ? { loadOptions: group, args: argv } : { dir: import.meta.url, args: argv });
}

/**
 * A direct path from its code-cached CommonJS bundle (src/code-cache.ts), or from the ESM chunks when unbundled or
 * when that file is missing; the cache is written after the command ran.
 */
async function runHot<T>(name: string, esm: () => Promise<T>, run: (m: T) => Promise<number | undefined>): Promise<number | undefined> {
  const file = typeof __DSTACK_HOT_BUNDLES__ === 'object' ? __DSTACK_HOT_BUNDLES__[name] : undefined;
  let hot: import('./code-cache.js').HotBundle<T> | undefined;
  try {
    if (file !== undefined) hot = (await import('./code-cache.js')).loadHot<T>(fileURLToPath(new URL(file, import.meta.url)));
  } catch {
    // Missing or unreadable: the same code is in the ESM chunks.
    hot = undefined;
  }
  if (!hot) return run(await esm());
  try {
    return await run(hot.exports);
  } finally {
    hot.save();
  }
}

const isHelpFlag = (arg: string): boolean => arg === '--help' || arg === '-h' || arg === '--';

/**
 * oclif run from dist/package.json with dist/cmd/<word>.js as its explicit target: only that word's commands load
 * (issue 15: `validate` paid for undici, execa and every other command). Help lists every command, so it keeps
 * the whole registry (dist/commands.js).
 */
async function groupLoadOptions(word: string): Promise<{ root: string; pjson: import('@oclif/core').Interfaces.PJSON }> {
  const [{ readFile }, { dirname, join }, { fileURLToPath }] = await Promise.all([import('node:fs/promises'), import('node:path'), import('node:url')]);
  const root = dirname(fileURLToPath(import.meta.url));
  const pjson = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as import('@oclif/core').Interfaces.PJSON;
  pjson.oclif = { ...pjson.oclif, commands: { strategy: 'explicit', target: `./cmd/${word}.js`, identifier: 'COMMANDS' } };
  return { root, pjson };
}

function main(argv: string[]): void {
  if (argv[0] === '--version' || argv[0] === '-V') {
    process.stdout.write(`dstack ${typeof __DSTACK_VERSION__ === 'string' ? __DSTACK_VERSION__ : '0.0.0-dev'}\n`);
    return;
  }
  runCommand(argv).catch((e: unknown) => {
    process.stderr.write(`dstack: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}

main(process.argv.slice(2));
