import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentBundle, freePort, killAgent, spawnAgent, type AgentChild } from './agent-process.js';
import { AgentClient, BUSYBOX, TEST_DOCKER_HOST, requireTestDocker, sweep } from './helpers.js';

let docker: Docker;
let bundle: string;
let home: string;
const agentId = `restart-${randomUUID().slice(0, 8)}`;
const token = `tok-${randomUUID()}`;
const children: AgentChild[] = [];

beforeAll(async () => {
  docker = await requireTestDocker();
  bundle = await agentBundle();
  home = await mkdtemp(path.join(os.tmpdir(), 'agent-restart-'));
});
afterAll(async () => {
  for (const c of children) await killAgent(c);
  await sweep(TEST_DOCKER_HOST, agentId);
  if (home) await rm(home, { recursive: true, force: true });
});

async function start(port: number, extra: string[] = []): Promise<AgentClient> {
  const agent = await spawnAgent(bundle, { home, token, port, extra: ['--docker-host', TEST_DOCKER_HOST, '--agent-id', agentId, ...extra] });
  children.push(agent);
  return new AgentClient(agent.url, token);
}
const last = () => children[children.length - 1]!;
const pidAlive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(requireStat(pid));
const requireStat = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return ') Z ';
  }
};

describe('the agent binary', () => {
  it('prints the version the daemon compares', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [bundle, '--version']);
    expect(stdout.trim()).toBe('dstack-agent 0.1.0');
  });

  it('keeps the token off its command line', async () => {
    const client = await start(await freePort());
    const cmdline = readFileSync(`/proc/${last().child.pid}/cmdline`, 'utf8');
    expect(cmdline).not.toContain(token);
    expect((await client.call('GET', '/api/health')).status).toBe(200);
    await killAgent(last(), 'SIGTERM');
  });
});

describe('adoption after an agent restart', () => {
  it('keeps a container running through an agent crash and reports it again', async () => {
    const port = await freePort();
    let client = await start(port);
    const id = `${agentId}-c1`;
    await client.call('POST', '/api/replicas', { id, runName: 'adopt', replicaNum: 2, image: BUSYBOX, port: 8080, commands: ['sleep 600'], stopTimeoutSeconds: 1 });
    const before = await client.waitFor(id, (s) => s.phase === 'running');
    await killAgent(last(), 'SIGKILL');
    expect((await docker.getContainer(id).inspect()).State.Running).toBe(true);

    client = await start(port);
    const after = (await client.call('GET', `/api/replicas/${id}`)).body;
    expect(after).toMatchObject({ phase: 'running', runName: 'adopt', replicaNum: 2, containerId: before.containerId, hostPort: before.hostPort });
    const stopped = await client.call('DELETE', `/api/replicas/${id}`);
    expect(stopped.body).toMatchObject({ phase: 'exited', reason: 'STOPPED' });
    await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await killAgent(last(), 'SIGTERM');
  });

  it('adopts a process replica that outlived the agent, and learns the exit code of one that ended meanwhile', async () => {
    const port = await freePort();
    let client = await start(port, ['--runtime', 'process']);
    const base = { runName: 'proc', replicaNum: 0, port: 18080, stopTimeoutSeconds: 1 };
    await client.call('POST', '/api/replicas', { ...base, id: `${agentId}-p1`, commands: ['echo started', 'sleep 600'] });
    await client.call('POST', '/api/replicas', { ...base, id: `${agentId}-p2`, commands: ['sleep 1', 'exit 3'] });
    const p1 = await client.waitFor(`${agentId}-p1`, (s) => s.phase === 'running');
    const p2 = await client.waitFor(`${agentId}-p2`, (s) => s.phase === 'running');
    await killAgent(last(), 'SIGKILL');
    expect(pidAlive(p1.pid!)).toBe(true);
    // p2 ends on its own (exit 3) while no agent runs, or just before the crash: either way only the disk knows.
    for (let i = 0; i < 600 && pidAlive(p2.pid!); i++) await new Promise((r) => setTimeout(r, 50));
    expect(pidAlive(p2.pid!)).toBe(false);

    client = await start(port, ['--runtime', 'process']);
    expect((await client.call('GET', `/api/replicas/${agentId}-p1`)).body).toMatchObject({ phase: 'running', pid: p1.pid, hostPort: 18080 });
    expect((await client.call('GET', `/api/replicas/${agentId}-p2`)).body).toMatchObject({ phase: 'exited', exitCode: 3, reason: 'CONTAINER_EXITED' });
    expect((await client.logs(`${agentId}-p1`)).toString()).toContain('started');
    await client.call('DELETE', `/api/replicas/${agentId}-p1`);
    expect(pidAlive(p1.pid!)).toBe(false);
    await killAgent(last(), 'SIGTERM');
  });
});
