import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { type ReplicaSpecInput, type ReplicaState } from '../../../src/core/model/agent-api.js';
import { LABELS } from '../../../src/core/model/agent-constants.js';
import { startAgent, type AgentOptions, type RunningAgent } from '../../../src/agent/agent.js';
import { dockerClient } from '../../../src/agent/docker/connect.js';

/** The test engine of scripts/test-hosts.sh (root namespace), overridable like the other integration tests. */
export const TEST_DOCKER_HOST = process.env.DSTACK_TEST_DOCKER_HOST ?? 'unix:///run/dstack-test/docker.sock';
export const BUSYBOX = 'dstack-test/busybox:latest';

/** Fails (never skips) with how to get the prerequisite. */
export async function requireTestDocker(): Promise<Docker> {
  const docker = dockerClient(TEST_DOCKER_HOST);
  try {
    await docker.ping();
    await docker.getImage(BUSYBOX).inspect();
  } catch (e) {
    throw new Error(
      `the agent's integration tests need the test dockerd at ${TEST_DOCKER_HOST} with ${BUSYBOX}: ` +
        `run \`sudo scripts/test-hosts.sh up 1\` (or set DSTACK_TEST_DOCKER_HOST). Cause: ${(e as Error).message}`,
    );
  }
  return docker;
}

export interface Call {
  status: number;
  body: any;
}

export class AgentClient {
  constructor(readonly url: string, readonly token: string) {}

  async call(method: string, p: string, body?: unknown, token = this.token): Promise<Call> {
    const res = await fetch(`${this.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // plain text (logs)
    }
    return { status: res.status, body: parsed };
  }

  /** Polls the replica until `done` holds; the timeout only bounds a hung test, it asserts nothing about speed. */
  async waitFor(id: string, done: (s: ReplicaState) => boolean, timeoutMs = 45_000): Promise<ReplicaState> {
    const deadline = Date.now() + timeoutMs;
    let last: ReplicaState | undefined;
    while (Date.now() < deadline) {
      const r = await this.call('GET', `/api/replicas/${id}`);
      if (r.status === 200) {
        last = r.body as ReplicaState;
        if (done(last)) return last;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`replica ${id} never reached the expected state; last: ${JSON.stringify(last)}`);
  }

  waitTerminal(id: string): Promise<ReplicaState> {
    return this.waitFor(id, (s) => s.phase === 'exited' || s.phase === 'failed');
  }

  async logs(id: string, query = ''): Promise<Buffer> {
    const res = await fetch(`${this.url}/api/replicas/${id}/logs${query}`, { headers: { authorization: `Bearer ${this.token}` } });
    if (res.status !== 200) throw new Error(`logs: HTTP ${res.status} ${await res.text()}`);
    return Buffer.from(await res.arrayBuffer());
  }
}

export interface TestAgent {
  agent: RunningAgent;
  client: AgentClient;
  agentId: string;
  home: string;
  spec(over: Partial<ReplicaSpecInput>): ReplicaSpecInput;
  close(): Promise<void>;
}

/** An in-process agent with its own id and home; close() sweeps every container it labelled. */
export async function startTestAgent(over: Partial<AgentOptions> = {}): Promise<TestAgent> {
  const agentId = `test-${randomUUID().slice(0, 8)}`;
  const home = over.home ?? (await mkdtemp(path.join(os.tmpdir(), 'dstack-agent-test-')));
  const token = `tok-${randomUUID()}`;
  const agent = await startAgent({ token, home, port: 0, dockerHost: TEST_DOCKER_HOST, agentId, ...over });
  let n = 0;
  return {
    agent,
    client: new AgentClient(agent.url, token),
    agentId,
    home,
    spec: (s) => ({ id: `${agentId}-r${n++}`, runName: 'svc', replicaNum: 0, image: BUSYBOX, port: 8080, stopTimeoutSeconds: 1, ...s }),
    close: async () => {
      await agent.close();
      await sweep(over.dockerHost ?? TEST_DOCKER_HOST, agentId);
      await rm(home, { recursive: true, force: true });
    },
  };
}

export async function sweep(dockerHost: string, agentId: string): Promise<void> {
  const docker = dockerClient(dockerHost);
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABELS.agent}=${agentId}`] } }).catch(() => []);
  for (const c of list) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
}
