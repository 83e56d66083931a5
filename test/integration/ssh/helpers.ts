// Shared setup of the SSH backend's integration tests: a throwaway DSTACK_HOME/server, targets for the namespace
// hosts of scripts/test-hosts.sh, and an agent directory + port of each test's own on the host, so these tests
// never touch (or stop) an agent that another test or engineer installed on the same host.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SshTarget } from '../../../src/core/fleets/types.js';
import type { ProvisionProgress } from '../../../src/core/fleets/types.js';
import type { ReplicaState } from '../../../src/core/model/agent-api.js';
import type { AgentClient } from '../../../src/backends/agent-client.js';
import { SshBackend, type SshBackendOptions } from '../../../src/backends/ssh/index.js';
import type { TestHost } from '../../helpers/test-hosts.js';

export interface SshTestEnv {
  home: string;
  knownHosts: string;
  /** `.dstack/agent-test-<random>` under the host's $HOME. */
  remoteDir: string;
  agentPort: number;
  log: string[];
  backend(extra?: Partial<SshBackendOptions>): SshBackend;
  cleanup(): Promise<void>;
}

/** `port` keeps each test file's agents apart on the hosts (the default 10998 is the product's). */
export async function sshTestEnv(agentPort: number): Promise<SshTestEnv> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'dstack-ssh-test-'));
  const log: string[] = [];
  const backends: SshBackend[] = [];
  const env: SshTestEnv = {
    home,
    knownHosts: path.join(home, 'server', 'known_hosts'),
    remoteDir: `.dstack/agent-test-${randomBytes(4).toString('hex')}`,
    agentPort,
    log,
    backend(extra = {}) {
      const b = new SshBackend({ knownHostsPath: env.knownHosts, remoteDir: env.remoteDir, agentPort, log: (l) => log.push(l), ...extra });
      backends.push(b);
      return b;
    },
    async cleanup() {
      for (const b of backends) await b.close();
      await rm(home, { recursive: true, force: true });
    },
  };
  return env;
}

export function targetOf(host: TestHost, instance = `test-${host.name}`, extra: Partial<SshTarget> = {}): SshTarget {
  return { instance, fleet: 'test', hostname: host.ip, port: host.sshPort, user: host.user, identityFile: host.identityFile, blocks: 1, ...extra };
}

/** Collects provisioning progress lines (`step: message`). */
export function progressLog(): { lines: string[]; on: (p: ProvisionProgress) => void } {
  const lines: string[] = [];
  return { lines, on: (p) => lines.push(`${p.step}: ${p.message}`) };
}

/** Polls until `done` holds; the deadline bounds a hung test, it asserts nothing about speed. */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what} did not happen in time${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The replica once it runs with a published port, or once it ended (the caller's assertion then shows why). */
export function waitRunning(agent: AgentClient, id: string): Promise<ReplicaState> {
  return waitUntil(`replica ${id} running`, async () => {
    const s = await agent.getReplica(id);
    return (s.phase === 'running' && s.hostPort) || s.phase === 'failed' || s.phase === 'exited' ? s : undefined;
  });
}
