/**
 * What a script gets from the built CLI: `-f -` reads the configuration from standard input, and every command
 * with `--json` answers a failure as `{error: {code, message, hint}}` on stdout with exit 1 (2 for a bad command
 * line). Also that the command registry does not carry the daemon: only `dstack server` loads it and ssh2.
 * Needs `npm run build` and the test dockerd (`scripts/test-hosts.sh up 1`).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliCommand, echoServiceYaml, eventually, newCli, requireDocker, uniqueName, type Cli } from './cli-harness.js';

const NAME = uniqueName('e2e-stdin');
let cli: Cli;

interface JsonError {
  error: { code: string; message: string; hint?: string };
}
const jsonError = (stdout: string) => (JSON.parse(stdout) as JsonError).error;

beforeAll(async () => {
  await requireDocker();
  cli = await newCli();
});

afterAll(async () => {
  await cli?.cleanup([NAME]);
});

describe('dstack -f - (standard input)', () => {
  it('validate -f - --json names <stdin>:line:col in a JSON error and exits 1', async () => {
    const r = await cli.run(['validate', '-f', '-', '--json'], { input: 'type: service\nimage: nginx\nport: "*:8000"\n' });
    expect(r.exitCode).toBe(1);
    const error = jsonError(r.stdout);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/^<stdin>:3:7 port: /);
    expect(r.stderr).toMatch(/^<stdin>:3:7 port: /);
  });

  it('apply -f - -y -d starts the run, packing the current folder; ps --json shows it', async () => {
    await cli.write('marker.txt', 'packed from the working directory\n');
    const r = await cli.run(['apply', '-f', '-', '-y', '-d'], { input: echoServiceYaml(NAME) });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Configuration\s+<stdin>/);
    expect(r.stdout).toMatch(new RegExp(`Repo\\s+${realpathSync(cli.dir)} \\(1 files?,`));
    expect(r.stderr).toContain(`Run ${NAME} submitted, detaching...`);
    const run = await eventually('the run in ps --json', async () => (await cli.ps()).find((x) => x.name === NAME && x.status === 'running'));
    expect(run.replicas.some((x) => x.status === 'running')).toBe(true);
  });
});

describe('--json errors', () => {
  it('apply --json: a missing file, a bad configuration and one no offer can take are JSON errors with exit 1', async () => {
    const missing = await cli.run(['apply', '-f', 'no-such.dstack.yml', '-y', '--json']);
    expect(missing.exitCode).toBe(1);
    expect(jsonError(missing.stdout)).toEqual({ code: 'CONFIG_NOT_FOUND', message: 'no-such.dstack.yml: no such file' });
    expect(missing.stderr).toContain('Error: no-such.dstack.yml: no such file');

    const bad = await cli.run(['apply', '-f', '-', '-y', '--json'], { input: 'type: service\nimage: nginx\nport: 8000\nreplica: 2\n' });
    expect(bad.exitCode).toBe(1);
    expect(jsonError(bad.stdout)).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^<stdin>:4:1 replica: unknown field/) });

    // More than any machine here has: the daemon's plan finds no offer, and apply refuses it.
    const huge = await cli.write('huge.dstack.yml', `${echoServiceYaml(uniqueName('e2e-huge'))}resources:\n  cpu: 4096..\n  memory: 64TB..\n`);
    const none = await cli.run(['apply', '-f', huge, '-y', '-d', '--json']);
    expect(none.exitCode).toBe(1);
    expect(jsonError(none.stdout).code).toBe('NO_OFFERS');
  });

  it('ps --json and stop --json on an unknown run; offer --json with a bad flag value (exit 2)', async () => {
    const stop = await cli.run(['stop', 'no-such-run', '-y', '--json']);
    expect(stop.exitCode).toBe(1);
    expect(jsonError(stop.stdout).code).toBe('RUN_NOT_FOUND');

    const ps = await cli.run(['ps', '--json', '-w']);
    expect(ps.exitCode).toBe(1);
    expect(jsonError(ps.stdout).code).toBe('WATCH_NEEDS_TTY');
    const listed = await cli.run(['ps', '--json', '-a']);
    expect((JSON.parse(listed.stdout) as { runs: Array<{ name: string }> }).runs.map((x) => x.name)).not.toContain('no-such-run');

    const offer = await cli.run(['offer', '--json', '--max-offers', 'many']);
    expect(offer.exitCode).toBe(2);
    expect(jsonError(offer.stdout)).toMatchObject({ code: 'USAGE', message: expect.stringContaining('--max-offers') });
    const unknown = await cli.run(['ps', '--json', '--frobnicate']);
    expect(unknown.exitCode).toBe(2);
    expect(jsonError(unknown.stdout)).toMatchObject({ code: 'USAGE', message: 'Unknown flag: --frobnicate' });
  });
});

describe('the command registry', () => {
  // The bundle as the tests run it (DSTACK_E2E_CLI may point at another build's main.js).
  const distDir = () => {
    const cmd = cliCommand();
    const main = cmd.find((c) => c.endsWith('main.js'));
    return main ? dirname(main) : resolve(import.meta.dirname, '../../dist');
  };

  /** Files reached from `entry` through static imports only: what loading it evaluates. */
  function staticGraph(entry: string): Map<string, string> {
    const seen = new Map<string, string>();
    const queue = [entry];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file) || !existsSync(file)) continue;
      const text = readFileSync(file, 'utf8');
      seen.set(file, text);
      for (const m of text.matchAll(/^(?:import|export)\b[^;]*?from\s*"(\.{1,2}\/[^"]+)"|^import\s*"(\.{1,2}\/[^"]+)"/gm)) {
        queue.push(join(dirname(file), (m[1] ?? m[2])!));
      }
    }
    return seen;
  }

  it('loads neither the daemon nor ssh2 for commands other than `dstack server`, which imports them lazily (ssh2 only on a first SSH use)', () => {
    const dist = distDir();
    const eager = staticGraph(join(dist, 'commands.js'));
    expect(eager.size).toBeGreaterThan(1);
    const eagerSources = [...eager.values()].join('\n');
    // esbuild marks each bundled module with a `// <path>` comment; they name what each chunk carries.
    expect(eagerSources).toContain('// src/commands/validate.ts');
    expect(eagerSources).not.toMatch(/^\/\/ node_modules\/ssh2\//m);
    expect(eagerSources).not.toMatch(/^\/\/ src\/daemon\//m);
    const lazy = [...eagerSources.matchAll(/import\("(\.{1,2}\/[^"]+)"\)/g)].map((m) => m[1]!);
    const chunk = (p: string) => join(dist, 'chunks', p.replace(/^\.\/(chunks\/)?/, ''));
    const daemonChunks = [...new Set(lazy)].flatMap((p) => [...staticGraph(chunk(p)).values()]).join('\n');
    expect(daemonChunks).toMatch(/^\/\/ src\/daemon\/main\.ts$/m);
    // A daemon on the local backend alone never loads ssh2: the SSH code imports it when it first connects.
    expect(daemonChunks).not.toMatch(/^\/\/ node_modules\/ssh2\//m);
    const later = [...daemonChunks.matchAll(/import\("(\.{1,2}\/[^"]+)"\)/g)].map((m) => m[1]!);
    expect([...new Set(later)].flatMap((p) => [...staticGraph(chunk(p)).values()]).join('\n')).toMatch(/^\/\/ node_modules\/ssh2\//m);
  });
});
