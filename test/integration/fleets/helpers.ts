// The daemon in-process with SSH fleets over the namespace test hosts (scripts/test-hosts.sh up 3): its own
// DSTACK_HOME, an agent directory and port of its own on the hosts (so other tests' agents are never touched), a
// short host-loss window, and a control-API client with the fleet routes.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { request } from 'undici';
import { utils } from 'ssh2';
import type { FleetPlan, FleetView } from '../../../src/core/api.js';
import { LABELS } from '../../../src/core/model/agent-constants.js';
import { stopLocalAgent } from '../../../src/backends/local/agent-process.js';
import { runDaemon, type Daemon } from '../../../src/daemon/main.js';
import { Api, DOCKER_HOST, tempDir } from '../daemon/harness.js';
import { dockerOptions, type TestHost } from '../../helpers/test-hosts.js';
import { stateDatabaseEnv } from '../../helpers/state-db.js';

export interface FleetDaemon {
  daemon: Daemon;
  home: string;
  api: FleetApi;
  /** `.dstack/agent-fleet-<random>` under each host's $HOME. */
  remoteDir: string;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startFleetDaemon(agentBin: string, agentPort: number, hostLossMs: number): Promise<FleetDaemon> {
  const home = await tempDir('dstack-fleet-');
  const remoteDir = `.dstack/agent-fleet-${randomBytes(4).toString('hex')}`;
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST, DSTACK_AGENT_BIN: agentBin, DSTACK_RETRY_BACKOFF_BASE_MS: '200', ...(await stateDatabaseEnv()) };
  const start = () => runDaemon({ home, port: 0, env, exitOnCompromise: false, tickMs: 250, hostLossMs, ssh: { agentPort, remoteDir } });
  const token = async () => /^token:\s*(\S+)/m.exec(await readFile(join(home, 'config.yml'), 'utf8'))?.[1] ?? '';
  const t: FleetDaemon = {
    daemon: await start(),
    home,
    remoteDir,
    api: undefined as unknown as FleetApi,
    async restart() {
      await t.daemon.close();
      t.daemon = await start();
      t.api = new FleetApi(t.daemon.url, await token());
    },
    async close() {
      await t.daemon.close();
      await stopLocalAgent(join(home, 'server', 'local-agent'));
    },
  };
  t.api = new FleetApi(t.daemon.url, await token());
  return t;
}

export class FleetApi extends Api {
  async fleetCall<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await request(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async planFleet(config: unknown): Promise<FleetPlan> {
    return ok(await this.fleetCall<FleetPlan>('POST', '/api/fleets/plan', { config }));
  }

  async applyFleet(config: unknown): Promise<FleetView> {
    return ok(await this.fleetCall<FleetView>('POST', '/api/fleets/apply', { config }));
  }

  async fleet(name: string): Promise<FleetView> {
    return ok(await this.fleetCall<FleetView>('GET', `/api/fleets/${name}`));
  }
}

function ok<T>(r: { status: number; body: T }): T {
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A fresh ed25519 key no host authorizes (the "wrong identity file"). */
export async function strangerKey(dir: string): Promise<string> {
  const file = join(dir, 'stranger_ed25519');
  await writeFile(file, utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
  return file;
}

/** Running (or, with `all`, any) containers of `run` on a test host's own engine. */
export async function hostContainers(host: TestHost, run: string, all = false): Promise<Docker.ContainerInfo[]> {
  return new Docker(dockerOptions(host.dockerHost)).listContainers({ all, filters: { label: [`${LABELS.run}=${run}`] } });
}

/** Processes on this machine (the hosts share it) whose command line names the test's agent directory. */
export function agentProcesses(remoteDir: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return ps.split('\n').filter((l) => l.includes(remoteDir) && l.includes('dstack-agent'));
}

export const link = (host: TestHost, state: 'up' | 'down') => execFileSync('ip', ['link', 'set', host.veth, state]);
