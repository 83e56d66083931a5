/**
 * First run on a fresh DSTACK_HOME from many processes at once (30 `dstack apply -d` started together): every
 * process must get the same config.yml, hence the same admin token, and leave no temp file behind. Separate
 * processes on the real filesystem, since the race is between processes; they start together at a shared
 * instant so their first reads overlap.
 */
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { collectFolderFiles } from '../../../src/core/repo/collect.js';
import { nodeRepoFs, type RepoFs } from '../../../src/core/repo/fs.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const PROCESSES = 30;
let dir: string;
let script: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dstack-first-run-'));
  // The module as it is in src/, bundled (CommonJS: yaml's CJS build needs `require`) so a plain `node` child loads it.
  await build({ entryPoints: [join(ROOT, 'src/core/home/config-file.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: join(dir, 'config-file.cjs'), logLevel: 'error' });
  script = join(dir, 'first-run.cjs');
  await writeFile(
    script,
    [
      "const { loadOrCreateHomeConfig } = require('./config-file.cjs');",
      'const [file, startAt] = process.argv.slice(2);',
      'while (Date.now() < Number(startAt)) {}',
      'loadOrCreateHomeConfig(file).then((config) => process.stdout.write(config.token));',
    ].join('\n'),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadOrCreateHomeConfig on a fresh home', () => {
  it(`creates config.yml once when ${PROCESSES} processes start together, and every one reads the same token`, async () => {
    const home = join(dir, 'home');
    const file = join(home, 'config.yml');
    const startAt = Date.now() + 1500;
    const runs = Array.from({ length: PROCESSES }, () => promisify(execFile)(process.execPath, [script, file, String(startAt)], { timeout: 60_000 }));
    const results = await Promise.allSettled(runs);
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as { stderr?: string }).stderr ?? r.reason)] : []));
    expect(failures).toEqual([]);
    const tokens = new Set(results.map((r) => (r.status === 'fulfilled' ? r.value.stdout : '')));
    const onDisk = (parse(await readFile(file, 'utf8')) as { token: string }).token;
    expect([...tokens]).toEqual([onDisk]);
    expect(await readdir(home)).toEqual(['config.yml']);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });
});

describe('packing a folder while another process writes into it', () => {
  // 30 applies from a folder holding DSTACK_HOME: one CLI lists home/ while another's temp file comes and goes.
  it('skips a file that vanishes between listing and lstat', async () => {
    const folder = join(dir, 'work');
    await mkdir(join(folder, 'home'), { recursive: true });
    await writeFile(join(folder, 'app.py'), 'print(1)\n');
    await writeFile(join(folder, 'home', 'config.yml.1.abcd.tmp'), 'x');
    const vanishing: RepoFs = {
      ...nodeRepoFs,
      lstat: async (p) => {
        if (p.endsWith('.tmp')) await rm(p);
        return nodeRepoFs.lstat(p);
      },
    };
    const files = await collectFolderFiles(folder, { fs: vanishing, env: {} });
    expect(files.entries.map((e) => e.path)).toEqual(['app.py']);
  });
});
