/**
 * `dstack metrics` with the built CLI: a service on the local backend (the real test dockerd), sampled through the
 * daemon and the local agent. Needs root, `scripts/test-hosts.sh up 1` and `npm run build`.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/api.js';
import { cliCommand, echoServiceYaml, eventually, newCli, requireDocker, uniqueName, type Cli } from './cli-harness.js';

const RUN = uniqueName('e2e-metrics');
let cli: Cli;

beforeAll(async () => {
  await requireDocker();
  cli = await newCli();
  const file = await cli.write('metrics.dstack.yml', echoServiceYaml(RUN));
  const r = await cli.run(['apply', '-f', file, '-y']);
  expect(r.exitCode, r.stderr).toBe(0);
});

afterAll(async () => {
  await cli?.cleanup([RUN]);
});

describe('dstack metrics', () => {
  it('--json returns the running replica with its CPU and memory figures', async () => {
    const r = await cli.run(['metrics', RUN, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as RunMetrics;
    expect(m).toMatchObject({ run: RUN, project: 'main', status: 'running' });
    expect(m.replicas).toHaveLength(1);
    const [replica] = m.replicas;
    expect(replica).toMatchObject({ num: 0, status: 'running', backend: 'local', metrics: { runtime: 'docker', gpus: [] } });
    expect(replica?.error).toBeUndefined();
    expect(replica?.metrics?.cpu.percent).toBeGreaterThanOrEqual(0);
    expect(replica?.metrics?.cpu.cores).toBeGreaterThan(0);
    expect(replica?.metrics?.memory.usedBytes).toBeGreaterThan(0);
    expect(replica?.metrics?.memory.limitBytes).toBeGreaterThan(replica!.metrics!.memory.usedBytes);
  });

  it('prints the table without a terminal, and refuses -w there', async () => {
    const r = await cli.run(['metrics', RUN]);
    expect(r.exitCode, r.stderr).toBe(0);
    const [header, row] = r.stdout.split('\n');
    expect(header).toMatch(/^NAME\s+STATUS\s+CPU\s+MEMORY\s+GPU$/);
    expect(row).toMatch(new RegExp(`^${RUN}\\s+running\\s+\\d+%\\s+[\\d.]+[MG]B/[\\d.]+[MG]B\\s+-$`));
    const watch = await cli.run(['metrics', RUN, '-w']);
    expect(watch.exitCode).toBe(1);
    expect(watch.stderr).toContain('-w needs a terminal');
  });

  it('names an unknown run', async () => {
    const r = await cli.run(['metrics', 'no-such-run']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('Run no-such-run not found');
  });

  it('-w in a pseudo-terminal draws the table and keeps it until Ctrl+C', async () => {
    // util-linux `script` gives the CLI a pty (sized by stty: a new pty has 0 columns); ^C written to it reaches the
    // CLI as SIGINT, as a keyboard's would. `exec`: script runs the command with $SHELL -c; a dash there (CI has no
    // SHELL, so /bin/sh) would wait for the CLI with SIGINT at its default and die of the ^C itself (exit 130).
    const command = `stty cols 120 rows 30; exec ${[...cliCommand(), 'metrics', RUN, '-w'].map((a) => `'${a}'`).join(' ')}`;
    // Without CI in the environment at all: Ink (is-in-ci) would otherwise draw only the last frame, at exit.
    const env = Object.fromEntries(Object.entries({ ...process.env, ...cli.env }).filter(([k]) => k !== 'CI' && !k.startsWith('CI_')));
    const child = execa('script', ['-qefc', command, '/dev/null'], { env, extendEnv: false, reject: false, stdin: 'pipe' });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    await eventually('the live table', async () => (output.includes(RUN) && /\d+%/.test(output) ? true : undefined), 60_000);
    expect(child.exitCode).toBeNull();
    child.stdin?.write('\x03');
    const done = await child;
    expect(done.exitCode, output).toBe(0);
    expect(output).toMatch(/NAME\s+STATUS\s+CPU\s+MEMORY\s+GPU/);
  });
});
