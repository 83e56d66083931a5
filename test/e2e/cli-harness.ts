/**
 * Drives the built CLI (`dist/bin/dstack`, else `node dist/main.js`) against the real test dockerd, each test file
 * with its own DSTACK_HOME and daemon port. Prerequisites are checked loudly: a missing build or engine fails the
 * test with the command that provides it, never a skip.
 */
import { execa, type ResultPromise } from 'execa';
import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { freePort } from '../helpers/net.js';
import { stateDatabaseEnv } from '../helpers/state-db.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { LABELS } from '../../src/core/model/agent-constants.js';
import type { RunView } from '../../src/core/api.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const TEST_DOCKER_HOST = process.env.DSTACK_TEST_DOCKER_HOST ?? 'unix:///run/dstack-test/docker.sock';

/** `DSTACK_E2E_CLI` points at another build (a bundle path or an executable), e.g. while dist/ is being rebuilt. */
export function cliCommand(): string[] {
  const override = process.env.DSTACK_E2E_CLI;
  if (override) return override.endsWith('.js') ? [process.execPath, override] : [override];
  const bin = join(ROOT, 'dist/bin/dstack');
  if (existsSync(bin)) return [bin];
  const main = join(ROOT, 'dist/main.js');
  if (existsSync(main)) return [process.execPath, main];
  throw new Error(`No built CLI at ${main}: run \`npm run build\` first`);
}

export function docker(): Docker {
  const socketPath = TEST_DOCKER_HOST.replace(/^unix:\/\//, '');
  return new Docker({ socketPath });
}

export async function requireDocker(): Promise<Docker> {
  const d = docker();
  try {
    await d.ping();
  } catch (e) {
    throw new Error(`The test dockerd does not answer at ${TEST_DOCKER_HOST} (${String(e)}): run \`sudo scripts/test-hosts.sh up 1\``);
  }
  for (const image of ['dstack-test/python:latest', 'dstack-test/node:latest']) {
    await d.getImage(image).inspect().catch(() => {
      throw new Error(`Image ${image} is missing on ${TEST_DOCKER_HOST}: run \`sudo scripts/test-hosts.sh up 1\``);
    });
  }
  return d;
}

export { freePort };

/**
 * A Node echo service (the test image's /srv/http-echo.mjs) as YAML, shared by the e2e files; `replicas` may be a
 * range (`0..3`, with `scaling` in `extra`), `extra` is appended as further top-level lines.
 */
export const echoServiceYaml = (name: string, replicas: number | string = 1, extra = '') => `type: service
name: ${name}
image: dstack-test/node:latest
env:
  - PORT=8000
commands:
  - node /srv/http-echo.mjs
port: 8000
replicas: ${replicas}
auth: false
${extra}`;

export interface Cli {
  home: string;
  port: number;
  env: Record<string, string>;
  dir: string;
  run(args: string[], opts?: { env?: Record<string, string>; input?: string }): ResultPromise<{ reject: false }>;
  write(name: string, yaml: string): Promise<string>;
  token(): Promise<string>;
  ps(): Promise<RunView[]>;
  daemonPid(): Promise<number | undefined>;
  /** Stops the runs it knows, then ends the daemon and the local agent this test started (by their pids). */
  cleanup(runNames: string[]): Promise<void>;
}

export async function newCli(): Promise<Cli> {
  const cmd = cliCommand();
  const home = await mkdtemp(join(tmpdir(), 'dstack-e2e-home-'));
  const dir = await mkdtemp(join(tmpdir(), 'dstack-e2e-cfg-'));
  const port = await freePort();
  const env: Record<string, string> = {
    DSTACK_HOME: home,
    DSTACK_SERVER_PORT: String(port),
    DOCKER_HOST: TEST_DOCKER_HOST,
    DSTACK_BASE_IMAGE: 'dstack-test/python:latest',
    NO_COLOR: '1',
    // CI runs the proxy suites with 2 proxy workers as well as with 1 (issue 15).
    ...(process.env.DSTACK_PROXY_WORKERS ? { DSTACK_PROXY_WORKERS: process.env.DSTACK_PROXY_WORKERS } : {}),
    // CI's PostgreSQL-state pass (issue 17): a database of its own for this home's daemon.
    ...(await stateDatabaseEnv()),
  };
  const cli: Cli = {
    home,
    port,
    env,
    dir,
    run: (args, opts = {}) =>
      execa(cmd[0]!, [...cmd.slice(1), ...args], {
        cwd: dir,
        env: { ...env, ...opts.env },
        extendEnv: true,
        reject: false,
        ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
        timeout: 170_000,
      }),
    async write(name, yaml) {
      const file = join(dir, name);
      await writeFile(file, yaml);
      return file;
    },
    async token() {
      return (parse(await readFile(join(home, 'config.yml'), 'utf8')) as { token: string }).token;
    },
    async ps() {
      const r = await cli.run(['ps', '-a', '--json']);
      if (r.exitCode !== 0) throw new Error(`dstack ps failed: ${r.stderr}`);
      return (JSON.parse(r.stdout) as { runs: RunView[] }).runs;
    },
    async daemonPid() {
      try {
        return (JSON.parse(await readFile(join(home, 'server/daemon.json'), 'utf8')) as { pid: number }).pid;
      } catch {
        return undefined;
      }
    },
    async cleanup(runNames) {
      for (const name of runNames) await cli.run(['stop', name, '-y', '-x']);
      // The agent outlives the daemon by design (replicas keep running), so it is ended separately.
      const agent = await readFile(join(home, 'server/local-agent/agent-process.json'), 'utf8').then((t) => (JSON.parse(t) as { pid?: number }).pid, () => undefined);
      for (const pid of [await cli.daemonPid(), agent]) {
        if (!pid) continue;
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      await removeContainers(runNames);
    },
  };
  return cli;
}

export async function containersOf(run: string, all = false): Promise<Docker.ContainerInfo[]> {
  return docker().listContainers({ all, filters: { label: [`${LABELS.run}=${run}`] } });
}

async function removeContainers(runNames: string[]): Promise<void> {
  for (const name of runNames) {
    for (const c of await containersOf(name, true).catch(() => [])) {
      await docker().getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    }
  }
}

/** Polls `check` until it returns a value, for at most `limitMs` (a bound on waiting, not a timing assertion). */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, limitMs = 90_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Gave up waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export const uniqueName = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 7)}`;
