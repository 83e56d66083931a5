import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentEvent } from '../../../src/core/model/agent-api.js';
import { LABELS } from '../../../src/core/model/agent-constants.js';
import { requireTestDocker, startTestAgent, type TestAgent } from './helpers.js';

let docker: Docker;
let t: TestAgent;

beforeAll(async () => {
  docker = await requireTestDocker();
  t = await startTestAgent();
});
afterAll(async () => t?.close());

/** Runs a one-shot replica to its end and returns its state and log. */
async function runToEnd(over: Parameters<TestAgent['spec']>[0]) {
  const spec = t.spec(over);
  const created = await t.client.call('POST', '/api/replicas', spec);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const state = await t.client.waitTerminal(spec.id);
  const log = state.containerId ? (await t.client.logs(spec.id)).toString('utf8') : '';
  return { spec, state, log };
}

describe('agent API basics', () => {
  it('rejects calls without the token or with a wrong one', async () => {
    expect((await t.client.call('GET', '/api/health', undefined, '')).status).toBe(401);
    const wrong = await t.client.call('GET', '/api/health', undefined, 'nope');
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('UNAUTHORIZED');
  });

  it('reports health with Docker available and host info without GPUs', async () => {
    const health = await t.client.call('GET', '/api/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ version: '0.1.0', runtime: 'docker', docker: { available: true } });
    const host = await t.client.call('GET', '/api/host');
    expect(host.body.cpus).toBeGreaterThan(0);
    expect(host.body.memoryBytes).toBeGreaterThan(0);
    expect(host.body.diskFreeBytes).toBeGreaterThan(0);
    expect(host.body.gpus).toEqual([]);
  });

  it('answers 404 for unknown replicas and routes', async () => {
    expect((await t.client.call('GET', '/api/replicas/nope')).body.code).toBe('UNKNOWN_REPLICA');
    expect((await t.client.call('GET', '/api/nothing')).status).toBe(404);
  });
});

describe('replica lifecycle in Docker', () => {
  it('starts a service published on 127.0.0.1 only, and stops it gracefully and idempotently', async () => {
    const spec = t.spec({ commands: ['mkdir -p /www', 'echo hello-from-replica > /www/index.html', 'exec httpd -f -p 8080 -h /www'] });
    expect((await t.client.call('POST', '/api/replicas', spec)).status).toBe(201);
    const running = await t.client.waitFor(spec.id, (s) => s.phase === 'running' || s.phase === 'failed');
    expect(running.phase).toBe('running');
    expect(running.hostPort).toBeGreaterThan(0);
    const info = await docker.getContainer(spec.id).inspect();
    expect(info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostIp).toBe('127.0.0.1');
    expect(info.Config.Labels[LABELS.agent]).toBe(t.agentId);
    expect(info.Config.Labels[LABELS.run]).toBe('svc');
    // httpd may need a moment after the container starts; retry the connection, not a timing assertion.
    let body = '';
    for (let i = 0; i < 50 && !body; i++) {
      body = await fetch(`http://127.0.0.1:${running.hostPort}/`).then((r) => r.text()).catch(() => '');
      if (!body) await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toContain('hello-from-replica');
    // A retried POST of the same spec answers the replica as it is.
    expect((await t.client.call('POST', '/api/replicas', spec)).status).toBe(200);

    const stopped = await t.client.call('DELETE', `/api/replicas/${spec.id}`);
    expect(stopped.status).toBe(200);
    expect(stopped.body).toMatchObject({ phase: 'exited', reason: 'STOPPED' });
    await expect(docker.getContainer(spec.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const again = await t.client.call('DELETE', `/api/replicas/${spec.id}`);
    expect(again.status).toBe(200);
    expect(again.body.phase).toBe('exited');
  });

  it('passes env and the DSTACK_* variables, working_dir and user', async () => {
    const { state, log } = await runToEnd({
      runName: 'env-run',
      replicaNum: 3,
      env: { GREETING: 'hi there', DSTACK_NODES_NUM: 'overridden-by-user' },
      workingDir: '/tmp/wd',
      user: 'nobody',
      commands: ['env | sort', 'echo "pwd=$(pwd)"', 'echo "uid=$(id -u)"'],
    });
    expect(state).toMatchObject({ phase: 'exited', exitCode: 0, reason: 'COMPLETED' });
    expect(log).toContain('GREETING=hi there');
    expect(log).toContain('DSTACK_RUN_NAME=env-run');
    expect(log).toContain('DSTACK_REPLICA_NUM=3');
    expect(log).toContain('DSTACK_SERVICE_PATH_PREFIX=/proxy/services/main/env-run');
    expect(log).toContain('DSTACK_GPUS_NUM=0');
    expect(log).toContain('DSTACK_GPUS_PER_NODE=0');
    expect(log).toContain('DSTACK_NODE_RANK=0');
    expect(log).toContain('DSTACK_NODES_NUM=overridden-by-user');
    expect(log).toContain('pwd=/tmp/wd');
    expect(log).toContain('uid=65534');
  });

  it('applies shm_size, visible from inside (/dev/shm size)', async () => {
    const script = ['df -k /dev/shm | tail -1'];
    const plain = await runToEnd({ commands: script });
    const big = await runToEnd({ commands: script, shmSizeBytes: 256 * 1024 * 1024 });
    expect(big.log).toMatch(/\s262144\s/);
    expect(plain.log).toMatch(/\s65536\s/);
  });

  it('applies privileged, visible from inside (all capabilities)', async () => {
    const script = ['grep CapEff /proc/self/status'];
    const plain = await runToEnd({ commands: script });
    const capEff = (log: string) => BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(log)?.[1] ?? '0'}`);
    const plainCaps = capEff(plain.log);
    expect(plainCaps).toBeGreaterThan(0n);
    const priv = await runToEnd({ commands: script, privileged: true });
    if (priv.state.phase === 'exited') {
      // A privileged container holds every capability of the engine's bounding set: strictly more than the default.
      expect(capEff(priv.log) & plainCaps).toBe(plainCaps);
      expect(capEff(priv.log)).toBeGreaterThan(plainCaps);
    } else {
      // Sandboxes whose bounding set lacks a capability refuse any privileged container (runc: "unable to apply
      // caps"), which a non-privileged one never hits: the request did reach the engine as privileged.
      expect(priv.state).toMatchObject({ phase: 'failed', reason: 'CONTAINER_START_FAILED' });
      expect(priv.state.message).toContain('unable to apply caps');
    }
  });

  it('mounts an instance volume read-write, creating the host directory', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'agent-vol-'));
    await writeFile(path.join(dir, 'in.txt'), 'from-host');
    const created = path.join(dir, 'made', 'by', 'agent');
    const { log, state } = await runToEnd({
      volumes: [{ hostPath: dir, containerPath: '/data' }, { hostPath: created, containerPath: '/made' }],
      commands: ['cat /data/in.txt', 'echo from-container > /data/out.txt', 'touch /made/ok'],
    });
    expect(state.exitCode).toBe(0);
    expect(log).toContain('from-host');
    expect(await readFile(path.join(dir, 'out.txt'), 'utf8')).toBe('from-container\n');
    expect(await readFile(path.join(created, 'ok'), 'utf8')).toBe('');
  });

  it('stops at the first failing command and reports the exit code and the last log lines', async () => {
    const { state } = await runToEnd({ commands: ['echo before-failure', 'sh -c "exit 7"', 'echo never-printed'] });
    expect(state).toMatchObject({ phase: 'exited', exitCode: 7, reason: 'CONTAINER_EXITED' });
    expect(state.message).toContain('before-failure');
    expect(state.message).not.toContain('never-printed');
  });

  it('runs an entrypoint with commands as its arguments', async () => {
    const { log } = await runToEnd({ entrypoint: '/bin/echo "two words"', commands: ['third'] });
    expect(log.trim()).toBe('two words third');
  });
});

describe('logs', () => {
  it('follows a running replica until it exits', async () => {
    const spec = t.spec({ commands: ['for i in 1 2 3 4 5; do echo line-$i; sleep 0.2; done'] });
    await t.client.call('POST', '/api/replicas', spec);
    // Asked while the replica is still pending: the follow waits for the container, then streams to the end.
    const log = (await t.client.logs(spec.id, '?follow=1')).toString('utf8');
    expect(log.split('\n').filter(Boolean)).toEqual(['line-1', 'line-2', 'line-3', 'line-4', 'line-5']);
  });

  it('streams invalid UTF-8 and a 1 MB line unharmed, and honours since', async () => {
    const spec = t.spec({ commands: ["printf 'bad:\\377\\376:end\\n'", "head -c 1000000 /dev/zero | tr '\\0' a", 'echo', 'echo tail-line'] });
    await t.client.call('POST', '/api/replicas', spec);
    const buf = await t.client.logs(spec.id, '?follow=1');
    // Docker's json-file log driver stores lines as JSON strings, so it has already turned the bad bytes into U+FFFD.
    expect(buf.toString('utf8')).toContain('bad:\uFFFD\uFFFD:end');
    expect(buf.toString('latin1')).toContain('a'.repeat(1_000_000));
    expect(buf.toString('latin1')).toContain('tail-line');
    const state = await t.client.waitTerminal(spec.id);
    expect(state.exitCode).toBe(0);
    const future = Math.ceil(Date.now() / 1000) + 3600;
    expect((await t.client.logs(spec.id, `?since=${future}`)).length).toBe(0);
    expect((await t.client.call('GET', `/api/replicas/${spec.id}/logs?since=abc`)).status).toBe(400);
  });
});

describe('events', () => {
  it('streams a snapshot, then every phase of a new replica in order', async () => {
    const controller = new AbortController();
    const res = await fetch(`${t.client.url}/api/events`, { headers: { authorization: `Bearer ${t.client.token}` }, signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const spec = t.spec({ commands: ['true'] });
    const events: AgentEvent[] = [];
    const reader = res.body!.getReader();
    let buffered = '';
    let posted = false;
    while (!events.some((e) => e.type === 'replica' && e.replica.id === spec.id && e.replica.phase === 'exited')) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += Buffer.from(value).toString('utf8');
      let i: number;
      while ((i = buffered.indexOf('\n\n')) >= 0) {
        const frame = buffered.slice(0, i);
        buffered = buffered.slice(i + 2);
        if (frame.startsWith('data: ')) events.push(JSON.parse(frame.slice(6)) as AgentEvent);
      }
      if (!posted && events.length > 0) {
        posted = true;
        await t.client.call('POST', '/api/replicas', spec);
      }
    }
    controller.abort();
    expect(events[0]?.type).toBe('snapshot');
    expect(events[1]).toMatchObject({ type: 'docker', available: true });
    const phases = events.flatMap((e) => (e.type === 'replica' && e.replica.id === spec.id ? [e.replica.phase] : []));
    const distinct = phases.filter((p, i) => p !== phases[i - 1]);
    expect(distinct).toEqual(['pending', 'pulling', 'creating', 'running', 'exited']);
  });
});
