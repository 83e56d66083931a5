import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../../src/backends/agent-client.js';
import { ReplicaMetrics } from '../../../src/core/model/agent-api.js';
import { createRunMetrics } from '../../../src/daemon/api/run-metrics.js';
import { replica, run } from '../../unit/reconcile/fixtures.js';
import { requireTestDocker, startTestAgent, type TestAgent } from './helpers.js';

// Busy replicas are stopped as soon as they are measured: they take a core from the test files running beside these.
const BUSY = 'while :; do :; done';
const MIB = 1024 * 1024;

/** A loopback port nothing listens on: a host whose agent does not answer. */
async function deadOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('replica metrics from the Docker engine', () => {
  let t: TestAgent;
  beforeAll(async () => {
    await requireTestDocker();
    t = await startTestAgent();
  });
  afterAll(async () => t?.close());

  it('shows a busy-looping container using CPU and memory, against its limits', async () => {
    const spec = t.spec({ commands: [BUSY], cpuLimit: 1.5, memoryLimitBytes: 256 * MIB });
    await t.client.call('POST', '/api/replicas', spec);
    await t.client.waitFor(spec.id, (s) => s.phase === 'running');
    const res = await t.client.call('GET', `/api/replicas/${spec.id}/metrics`);
    expect(res.status).toBe(200);
    const m = ReplicaMetrics.parse(res.body);
    expect(m).toMatchObject({ id: spec.id, runtime: 'docker', gpus: [], cpu: { cores: 1.5 }, memory: { limitBytes: 256 * MIB } });
    expect(m.cpu.percent).toBeGreaterThan(0);
    expect(m.memory.usedBytes).toBeGreaterThan(0);
    expect(m.gpuError).toBeUndefined();
    await t.client.call('DELETE', `/api/replicas/${spec.id}?timeout=0`);
  });

  it('measures a container adopted after an agent restart (no spec kept) against the host, through the real client', async () => {
    const spec = t.spec({ commands: [BUSY] });
    await t.client.call('POST', '/api/replicas', spec);
    await t.client.waitFor(spec.id, (s) => s.phase === 'running');
    const again = await startTestAgent({ agentId: t.agentId });
    try {
      const client = new AgentClient({ origin: again.agent.url, token: again.client.token });
      const m = await client.replicaMetrics(spec.id);
      await client.close();
      await again.client.call('DELETE', `/api/replicas/${spec.id}?timeout=0`);
      expect(m.cpu.percent).toBeGreaterThan(0);
      // No limits: the engine's online CPUs and the host's memory are the allowance.
      expect(m.cpu.cores).toBe(os.availableParallelism());
      expect(m.memory.limitBytes).toBeGreaterThanOrEqual(os.totalmem() * 0.9);
    } finally {
      // Not again.close(): that would sweep the containers of `t`, which share its agent id.
      await again.agent.close();
      await rm(again.home, { recursive: true, force: true });
    }
  });

  it('answers 404 for an unknown replica and 409 for one that is not running', async () => {
    expect((await t.client.call('GET', '/api/replicas/nope/metrics')).body).toMatchObject({ code: 'UNKNOWN_REPLICA' });
    const spec = t.spec({ commands: ['exit 0'] });
    await t.client.call('POST', '/api/replicas', spec);
    await t.client.waitTerminal(spec.id);
    const res = await t.client.call('GET', `/api/replicas/${spec.id}/metrics`);
    expect(res).toMatchObject({ status: 409, body: { code: 'REPLICA_NOT_RUNNING' } });
  });
});

describe('replica metrics of the process runtime', () => {
  let t: TestAgent;
  // A Docker host that does not exist: `auto` picks the process runtime.
  beforeAll(async () => {
    t = await startTestAgent({ dockerHost: 'unix:///nonexistent/docker.sock' });
  });
  afterAll(async () => t?.close());

  it('reads CPU and memory of the process group from /proc, and says why assigned GPUs have no figures', async () => {
    const spec = t.spec({ image: undefined, commands: [BUSY], gpus: { vendor: 'nvidia', ids: ['GPU-5d9a0c4e-3f2b-8c1e-9a7d-2b6f4e8c1a03'] } });
    await t.client.call('POST', '/api/replicas', spec);
    await t.client.waitFor(spec.id, (s) => s.phase === 'running');
    const m = ReplicaMetrics.parse((await t.client.call('GET', `/api/replicas/${spec.id}/metrics`)).body);
    expect(m).toMatchObject({ runtime: 'process', cpu: { cores: os.availableParallelism() }, memory: { limitBytes: os.totalmem() }, gpus: [] });
    expect(m.cpu.percent).toBeGreaterThan(0);
    expect(m.memory.usedBytes).toBeGreaterThan(0);
    expect(m.gpuError).toBe('nvidia-smi is not installed on this host');
    await t.client.call('DELETE', `/api/replicas/${spec.id}?timeout=0`);
  });

  it('lists the replica of a host that does not answer with the reason, beside the figures of the others', async () => {
    const spec = t.spec({ image: undefined, commands: ['sleep 600'] });
    await t.client.call('POST', '/api/replicas', spec);
    await t.client.waitFor(spec.id, (s) => s.phase === 'running');
    const dead = await deadOrigin();
    const clients = { local: new AgentClient({ origin: t.agent.url, token: t.client.token }), gone: new AgentClient({ origin: dead, token: 'x' }) };
    const r = run({ status: 'running', replicas: [replica({ id: spec.id, num: 0, instance: 'local' }), replica({ id: 'svc-1-0', num: 1, instance: 'gone' })] });
    const metrics = createRunMetrics({ findRun: () => r, connect: async (i) => ({ client: clients[i as keyof typeof clients] }) });
    try {
      const answer = await metrics('svc');
      expect(answer.replicas[0]?.metrics?.memory.usedBytes).toBeGreaterThan(0);
      expect(answer.replicas[1]).toMatchObject({ num: 1, instance: 'gone', error: `agent at ${dead} is unreachable (ECONNREFUSED)` });
      expect(answer.replicas[1]?.metrics).toBeUndefined();
    } finally {
      await Promise.all(Object.values(clients).map((c) => c.close()));
      await t.client.call('DELETE', `/api/replicas/${spec.id}?timeout=1`);
    }
  });
});
