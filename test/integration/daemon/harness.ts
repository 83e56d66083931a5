/**
 * Shared setup of the daemon integration tests: the real agent bundled from src/agent/main.ts (spawned by the
 * local backend as it would be in production), the real test dockerd, a temp DSTACK_HOME per test, and a
 * small control-API client. Prerequisites missing → the test FAILS saying how to get them.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import Docker from 'dockerode';
import { request } from 'undici';
import type { RunPlan, RunView } from '../../../src/core/api.js';
import { LABELS } from '../../../src/core/model/agent-constants.js';
import { stopLocalAgent } from '../../../src/backends/local/agent-process.js';
import { runDaemon, type Daemon } from '../../../src/daemon/main.js';
import { buildProxyWorker } from './proxy-worker-bundle.js';
import { stateDatabaseEnv } from '../../helpers/state-db.js';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const DOCKER_HOST = process.env.DSTACK_TEST_DOCKER_HOST ?? 'unix:///run/dstack-test/docker.sock';

export function docker(): Docker {
  return new Docker({ socketPath: DOCKER_HOST.replace(/^unix:\/\//, '') });
}

export async function requireDocker(images: string[]): Promise<void> {
  const d = docker();
  try {
    await d.ping();
  } catch {
    throw new Error(`No test dockerd at ${DOCKER_HOST}. Run \`sudo scripts/test-hosts.sh up 1\` (or set DSTACK_TEST_DOCKER_HOST).`);
  }
  for (const image of images) {
    try {
      await d.getImage(image).inspect();
    } catch {
      throw new Error(`Test image ${image} is missing on ${DOCKER_HOST}. Run \`sudo scripts/test-hosts.sh up 1\` to build it.`);
    }
  }
}

// CJS dependencies (ssh2 via dockerode) need require/__filename/__dirname in an ESM bundle (node-packages.md §2).
const BANNER = [
  "import { createRequire as __cr } from 'node:module';",
  "import { fileURLToPath as __toPath } from 'node:url';",
  "import { dirname as __dirnameOf } from 'node:path';",
  'const require = __cr(import.meta.url);',
  'const __filename = __toPath(import.meta.url);',
  'const __dirname = __dirnameOf(__filename);',
].join('\n');

/** Bundles the agent once per test file (dist/agent.js may be stale or absent). */
export async function buildAgent(dir: string): Promise<string> {
  const entry = join(ROOT, 'src/agent/main.ts');
  if (!existsSync(entry)) throw new Error('src/agent/main.ts is missing: the daemon tests need the real agent');
  const outfile = join(dir, 'agent.mjs');
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    banner: { js: BANNER },
    external: ['cpu-features', '*.node'],
    define: { __DSTACK_VERSION__: '"0.1.0"' },
    logLevel: 'error',
  });
  return outfile;
}

export interface TestDaemon {
  daemon: Daemon;
  home: string;
  token: string;
  env: NodeJS.ProcessEnv;
  api: Api;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function startTestDaemon(agentBin: string, env: NodeJS.ProcessEnv = {}, home?: string): Promise<TestDaemon> {
  const dir = home ?? (await tempDir('dstack-daemon-'));
  const fullEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST,
    DSTACK_AGENT_BIN: agentBin,
    DSTACK_RETRY_BACKOFF_BASE_MS: '200',
    ...(await stateDatabaseEnv()),
    ...env,
  };
  // CI's second pass (DSTACK_PROXY_WORKERS=2): workers need an entry of their own, vitest's argv[1] is none.
  const workers = Number(fullEnv.DSTACK_PROXY_WORKERS ?? '1') > 1 ? { proxyWorkerArgv: [await buildProxyWorker(dir)] } : {};
  const start = () => runDaemon({ home: dir, port: 0, env: fullEnv, exitOnCompromise: false, tickMs: 250, ...workers });
  const t: TestDaemon = {
    daemon: await start(),
    home: dir,
    token: '',
    env: fullEnv,
    api: undefined as unknown as Api,
    async restart() {
      await t.daemon.close();
      t.daemon = await start();
      t.api = new Api(t.daemon.url, t.token);
    },
    async close() {
      await t.daemon.close();
      await stopLocalAgent(join(dir, 'server', 'local-agent'));
    },
  };
  const config = await readFile(join(dir, 'config.yml'), 'utf8');
  t.token = /^token:\s*(\S+)/m.exec(config)?.[1] ?? '';
  t.api = new Api(t.daemon.url, t.token);
  return t;
}

export class Api {
  constructor(readonly url: string, readonly token: string) {}

  async call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, token: string | undefined = this.token): Promise<{ status: number; body: T }> {
    const res = await request(`${this.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async plan(config: unknown): Promise<RunPlan> {
    return ok(await this.call<RunPlan>('POST', '/api/runs/plan', { config }));
  }

  async apply(config: unknown, force = false): Promise<RunView> {
    return ok(await this.call<RunView>('POST', '/api/runs/apply', { config, force }));
  }

  async run(name: string): Promise<RunView> {
    return ok(await this.call<RunView>('GET', `/api/runs/${name}`));
  }

  async stop(name: string, abort = false): Promise<RunView> {
    return ok(await this.call<RunView>('POST', `/api/runs/${name}/stop`, { abort }));
  }

  /** A request through the service proxy. */
  async service(project: string, run: string, path = '/', token: string | undefined = this.token): Promise<{ status: number; text: string }> {
    const res = await request(`${this.url}/proxy/services/${project}/${run}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    return { status: res.statusCode, text: await res.body.text() };
  }
}

function ok<T>(r: { status: number; body: T }): T {
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Polls `check` until it returns a value (bounded; the bound is a safety net, not a timing assertion). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

export const isReady = (v: RunView, n = 1) =>
  v.status === 'running' && v.replicas.filter((r) => r.status === 'running' && r.ready).length >= n;

/** Containers of a run on the test engine (by the agent's labels). */
export async function containersOf(run: string, all = false): Promise<Docker.ContainerInfo[]> {
  return docker().listContainers({ all, filters: { label: [`${LABELS.run}=${run}`] } });
}

export async function removeContainersOf(run: string): Promise<void> {
  for (const c of await containersOf(run, true)) await docker().getContainer(c.Id).remove({ force: true }).catch(() => undefined);
}

export async function removeDir(dir: string): Promise<void> {
  // DSTACK_TEST_KEEP=1 keeps homes (daemon.log, agent.log, state.json) to look at after a failure.
  if (process.env.DSTACK_TEST_KEEP) return;
  await rm(dir, { recursive: true, force: true });
}
