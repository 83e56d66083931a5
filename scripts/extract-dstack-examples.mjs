#!/usr/bin/env node
/**
 * Extracts every `type: service` / `type: fleet` configuration from dstack's documentation into test fixtures,
 * so `test/unit/config/dstack-docs.test.ts` can check that what dstack's docs tell a new user to write validates.
 *
 * Usage: node scripts/extract-dstack-examples.mjs [DSTACK_GIT_DIR] [--out DIR]
 *   DSTACK_GIT_DIR defaults to $DSTACK_GIT_DIR (a clone or a bare git dir of github.com/dstackai/dstack).
 *   DIR defaults to test/fixtures/configs/dstack-docs.
 *
 * Sources, read from the git dir's HEAD (no work tree needed): fenced ```yaml blocks in `mkdocs/docs/**.md` and
 * `examples/**.md` (dedented), and standalone `examples/**.dstack.yml|yaml` files. A block is taken when a line
 * at column 0 reads `type: service` or `type: fleet` (a text test, not a YAML parse, so fragments that are not
 * valid YAML, e.g. with `...`, are kept and the test lists them). Blocks inside HTML comments are skipped: mkdocs
 * does not render them, so no user copies them.
 *
 * Output: `<source path, / as __>__<n>.dstack.yml`, n counting the taken blocks of that source from 1, with a first
 * line `# source: dstackai/dstack@<commit> <path>:<line of the block's first line>`. Deterministic: sources are
 * sorted, and every earlier `*.dstack.yml` in DIR is removed first so a re-run leaves exactly the current set.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const TYPE_LINE = /^type:\s*["']?(service|fleet)["']?\s*(#.*)?$/m;
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/;

function parseArgs(argv) {
  const args = { gitDir: process.env.DSTACK_GIT_DIR, out: 'test/fixtures/configs/dstack-docs' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') args.out = argv[++i];
    else args.gitDir = argv[i];
  }
  if (!args.gitDir) {
    process.stderr.write('usage: extract-dstack-examples.mjs DSTACK_GIT_DIR [--out DIR] (or set DSTACK_GIT_DIR)\n');
    process.exit(2);
  }
  return args;
}

const git = (gitDir, ...args) => execFileSync('git', ['--git-dir', gitDir, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });

/** Removes the indentation all non-blank lines share (a block indented deeper than its fence parses the same). */
function dedent(lines) {
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)[0].length);
  const common = indents.length > 0 ? Math.min(...indents) : 0;
  return `${lines.map((l) => l.slice(common)).join('\n').replace(/\s+$/, '')}\n`;
}

/** Fenced YAML blocks of a markdown text: `{line, text}` with the fence's indentation removed. */
function yamlBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  let inComment = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!inComment && line.includes('<!--') && !line.slice(line.indexOf('<!--')).includes('-->')) {
      inComment = true;
      continue;
    }
    if (inComment) {
      if (line.includes('-->')) inComment = false;
      continue;
    }
    const open = FENCE.exec(line);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^(\s*)(`{3,}|~{3,})\s*$/.exec(lines[j]);
      if (close && close[2][0] === fence[0] && close[2].length >= fence.length) break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
    }
    if (lang === 'yaml' || lang === 'yml') blocks.push({ line: i + 2, text: dedent(body) });
    i = j;
  }
  return blocks;
}

function sources(gitDir) {
  const files = git(gitDir, 'ls-tree', '-r', '-z', '--name-only', 'HEAD').split('\0').filter(Boolean).sort();
  const docs = files.filter((f) => /^mkdocs\/docs\/.*\.md$/.test(f) || /^examples\/.*\.md$/.test(f));
  const configs = files.filter((f) => /^examples\/.*\.dstack\.ya?ml$/.test(f));
  return [...docs.map((path) => ({ path, kind: 'md' })), ...configs.map((path) => ({ path, kind: 'config' }))]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function main() {
  const { gitDir, out } = parseArgs(process.argv.slice(2));
  const commit = git(gitDir, 'rev-parse', 'HEAD').trim();
  const outDir = resolve(out);
  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) if (f.endsWith('.dstack.yml')) rmSync(join(outDir, f));
  let written = 0;
  for (const { path, kind } of sources(gitDir)) {
    const text = git(gitDir, 'show', `HEAD:${path}`);
    const blocks = kind === 'md' ? yamlBlocks(text) : [{ line: 1, text }];
    let n = 0;
    for (const block of blocks) {
      if (!TYPE_LINE.test(block.text)) continue;
      n += 1;
      const name = `${path.replaceAll('/', '__')}__${n}.dstack.yml`;
      const body = block.text.endsWith('\n') ? block.text : `${block.text}\n`;
      writeFileSync(join(outDir, name), `# source: dstackai/dstack@${commit} ${path}:${block.line}\n${body}`);
      written += 1;
    }
  }
  process.stdout.write(`${written} configurations from dstackai/dstack@${commit} written to ${out}\n`);
}

main();
