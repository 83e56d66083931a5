#!/usr/bin/env node
// `npm run bench [section...] [--seconds N] [--runs N]`: runs every section in scripts/bench/ (a file that exports
// `name` and `async run(ctx) → {title, columns, rows, notes}`), or only the named ones, and prints one Markdown
// table per section on stdout. Progress goes to stderr, so `npm run bench > bench.md` keeps only the tables.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { markdownSection } from './bench/lib.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIR = join(ROOT, 'scripts/bench');

function parseArgs(argv) {
  const names = [];
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seconds' || a === '--runs') options[a.slice(2)] = Number(argv[++i]);
    else if (a === '--quick') options.quick = true;
    else names.push(a);
  }
  return { names, options };
}

/** Section files are recognised by their exports without importing them: helper scripts start servers on import. */
function sectionFiles() {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.mjs') && f !== 'lib.mjs')
    .filter((f) => {
      const text = readFileSync(join(DIR, f), 'utf8');
      return /export\s+const\s+name\b/.test(text) && /export\s+async\s+function\s+run\b/.test(text);
    })
    .sort();
}

async function main() {
  const { names, options } = parseArgs(process.argv.slice(2));
  const sections = [];
  for (const file of sectionFiles()) sections.push(await import(pathToFileURL(join(DIR, file)).href));
  const known = sections.map((s) => s.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) throw new Error(`bench: no section named ${unknown.join(', ')} (have: ${known.join(', ')})`);
  const chosen = names.length > 0 ? sections.filter((s) => names.includes(s.name)) : sections;
  let failed = 0;
  process.stdout.write(`## Bench (${new Date().toISOString()}, node ${process.version})\n\n`);
  for (const section of chosen) {
    const log = (m) => process.stderr.write(`[${section.name}] ${m}\n`);
    const started = performance.now();
    try {
      const result = await section.run({ ...options, root: ROOT, log });
      process.stdout.write(`${markdownSection(result)}\n`);
      log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (e) {
      failed++;
      process.stdout.write(`### ${section.name}\n\nFAILED: ${e instanceof Error ? e.message : e}\n\n`);
      log(e instanceof Error ? (e.stack ?? e.message) : String(e));
    }
  }
  if (failed > 0) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
