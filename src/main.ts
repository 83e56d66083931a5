/**
 * The CLI entry, bundled to dist/main.js. It stays tiny so `dstack --version` costs one small file: the command
 * registry (dist/commands.js, oclif's explicit-strategy target, with zod/undici/yaml behind it) and oclif itself
 * are imported only when a command runs. No top-level await: a module still evaluating cannot be re-imported.
 */
import { colorEnabled, createPainter } from './ui/colors.js';
import { formatErrorBanner } from './ui/error-banner.js';
import { closest } from './ui/suggest.js';

/** Replaced at bundle time by scripts/build.mjs (esbuild `define`). */
declare const __DSTACK_VERSION__: string | undefined;

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
  // A catalog-only `dstack offer` needs neither oclif nor the registry (issue 13: ≤ 50 ms beyond --version).
  if (argv[0] === 'offer' && (await (await import('./commands/offer-direct.js')).offerWithoutDaemon(argv.slice(1)))) return;
  const { COMMANDS } = await import('./commands/index.js');
  // Top-level words: `apply`, and `fleet` for `fleet:apply`.
  const known = new Set(Object.keys(COMMANDS).map((id) => id.split(':')[0] ?? id));
  const [first] = argv;
  if (first !== undefined && !first.startsWith('-') && !known.has(first)) return unknownCommand(first, known);
  // A bundled dynamic import() of a CJS package yields {default: module.exports} (reference/node-packages.md §2).
  const oclif: typeof import('@oclif/core') & { default?: typeof import('@oclif/core') } = await import('@oclif/core');
  const { execute } = oclif.default ?? oclif;
  await execute({ dir: import.meta.url, args: argv });
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
