/**
 * The single binaries, run the way a user gets them: copied alone into an empty directory, with a fresh HOME
 * and XDG_CACHE_HOME (so the first run extracts the bundle), and no repo or node_modules beside them.
 * Needs `npm run build:binary` first; a missing build is a failure, not a skip.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const BUILT = { cli: join(ROOT, 'dist/bin/dstack'), agent: join(ROOT, 'dist/bin/dstack-agent') };

// The first example of the `service` reference (seeds/000).
const SEED_SERVICE = 'type: service\nname: http-server-service\npython: "3.10"\ncommands:\n  - python3 -m http.server\nport: 8000\n';

let dir: string;
let env: NodeJS.ProcessEnv;

function requireBuilt(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build:binary (it bundles with esbuild and makes Node SEAs)`);
  const copy = join(dir, 'bin', path.split('/').pop() ?? 'bin');
  if (!existsSync(copy)) copyFileSync(path, copy);
  return copy;
}

function run(bin: string, args: string[]) {
  const r = spawnSync(bin, args, { cwd: join(dir, 'work'), env, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dstack-binary-e2e-'));
  for (const d of ['bin', 'work', 'home', 'cache']) spawnSync('mkdir', ['-p', join(dir, d)]);
  writeFileSync(join(dir, 'work', 'service.dstack.yml'), SEED_SERVICE);
  // Only what a user's shell would have: no NODE_OPTIONS, no repo paths, no CI (so nothing looks like our test runner).
  env = { PATH: '/usr/bin:/bin', HOME: join(dir, 'home'), XDG_CACHE_HOME: join(dir, 'cache'), DSTACK_HOME: join(dir, 'home/.dstack'), NO_COLOR: '1' };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dist/bin/dstack', () => {
  it('prints `dstack <package.json version>` for --version, extracting its bundle into XDG_CACHE_HOME', () => {
    const bin = requireBuilt(BUILT.cli);
    const r = run(bin, ['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `dstack ${VERSION}\n` });
    const cached = readdirSync(join(dir, 'cache/dstack'));
    expect(cached).toHaveLength(1);
    expect(readdirSync(join(dir, 'cache/dstack', cached[0] ?? ''))).toEqual(expect.arrayContaining(['main.js', 'commands.js', 'package.json', '.complete']));
  });

  it('lists its commands in --help', () => {
    const r = run(requireBuilt(BUILT.cli), ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('USAGE');
    expect(r.stdout).toContain('$ dstack');
    expect(r.stdout).toMatch(/COMMANDS\n/);
    const ps = run(requireBuilt(BUILT.cli), ['help', 'ps']);
    expect(ps.code).toBe(0);
    expect(ps.stdout).toContain('$ dstack ps');
  });

  it('validates the first seed example with --json', () => {
    const r = run(requireBuilt(BUILT.cli), ['validate', '--json', '-f', 'service.dstack.yml']);
    expect(r.stderr).not.toContain('Unknown command');
    expect(r.code).toBe(0);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
  });

  it('rejects an unknown command with exit 2, naming it and pointing at --help', () => {
    const r = run(requireBuilt(BUILT.cli), ['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Error: Unknown command "frobnicate"');
    expect(r.stderr).toContain('dstack --help');
  });

  it('rejects an unknown flag with exit 2, naming the flag', () => {
    const r = run(requireBuilt(BUILT.cli), ['ps', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--no-such-flag');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('dist/bin/dstack-agent', () => {
  it('prints its version', () => {
    const r = run(requireBuilt(BUILT.agent), ['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(VERSION);
  });
});

describe('bundle layout', () => {
  it('keeps Ink/React (and for --version, everything heavy) out of the eagerly loaded graph', async () => {
    const metaFile = join(ROOT, 'out/build-meta.json');
    if (!existsSync(metaFile)) throw new Error('out/build-meta.json is missing: run npm run build');
    // @ts-expect-error: plain .mjs build script without types
    const { staticInputs } = (await import('../../scripts/build.mjs')) as { staticInputs: (m: unknown, out: string) => Set<string> };
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { main: unknown };
    const versionPath = [...staticInputs(meta.main, 'dist/main.js')];
    const commandPath = [...staticInputs(meta.main, 'dist/commands.js')];
    expect(versionPath.filter((p) => p.includes('node_modules/'))).toEqual([]);
    expect(commandPath.filter((p) => /node_modules\/(ink|react|react-reconciler|yoga-layout)\//.test(p))).toEqual([]);
  });
});
