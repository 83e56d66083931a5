/**
 * Entry of a V8 startup snapshot for `dstack validate` (issue 15 measurement; not part of the product build).
 * Bundled to one CommonJS file by scripts/snapshot/build.mjs, because `--build-snapshot` and SEA `useSnapshot`
 * run a single script whose require() sees only built-ins. Everything below the imports runs once, at build
 * time: zod and yaml are evaluated and the config schemas built there, so a run deserializes them instead.
 */
import { createRequire } from 'node:module';
import { startupSnapshot } from 'node:v8';
import { config as zodConfig } from 'zod';
import { validateWithoutOclif } from '../../src/commands/validate-direct.js';
import { parseConfigText } from '../../src/core/config/load.js';

/** Replaced at bundle time, as in src/main.ts. */
declare const __DSTACK_VERSION__: string;
/** dist/main.js, where every other command line goes (build.mjs defines it; an absolute path on this machine). */
declare const __DSTACK_FALLBACK_MAIN__: string;
/** Whether build.mjs asked for a warm-up parse at build time (the "warm" snapshot variant). */
declare const __DSTACK_SNAPSHOT_WARM__: boolean;

// As validate-direct.ts sets per run: one parse per schema never pays for zod's compiled fast path.
zodConfig({ jitless: true });

// zod fills some schema internals lazily on the first parse (shapes, defaults, regexes); parsing one service and
// one fleet here stores them filled in, so a run starts where a second parse would.
if (__DSTACK_SNAPSHOT_WARM__) {
  parseConfigText('type: service\nname: warm\ncommands: [x]\nport: 8000\nresources: {gpu: 24GB}\n', '<warm>');
  parseConfigText('type: fleet\nname: warm\nnodes: 1\n', '<warm>');
}

/** The command line after the program: `node --snapshot-blob B a b` gives [node, a, b]; a SEA [exe, exe, a, b]. */
function userArgs(): string[] {
  let isSea = false;
  try {
    isSea = (require('node:sea') as { isSea(): boolean }).isSea();
  } catch {
    // node:sea is missing only where SEAs are; then this is the --snapshot-blob case.
  }
  return process.argv.slice(isSea ? 2 : 1);
}

/** Anything but a plainly written validate runs the ordinary CLI, as if `node dist/main.js ...args` had started. */
function runOrdinaryCli(args: string[]): void {
  process.argv.splice(1, process.argv.length - 1, __DSTACK_FALLBACK_MAIN__, ...args);
  // require(esm) (unflagged since Node 20.19) loads the ESM bundle: import() is unavailable in a snapshot's main.
  createRequire(__DSTACK_FALLBACK_MAIN__)(__DSTACK_FALLBACK_MAIN__);
}

startupSnapshot.setDeserializeMainFunction(() => {
  const args = userArgs();
  // As src/main.ts answers it: shows what every command pays for a heap this size before doing anything.
  if (args[0] === '--version' || args[0] === '-V') return void process.stdout.write(`dstack ${__DSTACK_VERSION__}\n`);
  if (args[0] !== 'validate') return runOrdinaryCli(args);
  validateWithoutOclif(args.slice(1)).then(
    (code) => (code === undefined ? runOrdinaryCli(args) : void (process.exitCode = code)),
    (e: unknown) => {
      process.stderr.write(`dstack: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
});
