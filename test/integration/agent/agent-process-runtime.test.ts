import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from './helpers.js';

let t: TestAgent;
// A Docker host that does not exist: `auto` picks the process runtime, as on a fresh machine without Docker.
beforeAll(async () => {
  t = await startTestAgent({ dockerHost: 'unix:///nonexistent/docker.sock' });
});
afterAll(async () => t?.close());

const alive = (pid: number) => {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('process runtime (no Docker engine)', () => {
  it('reports runtime process and refuses nothing in health', async () => {
    expect((await t.client.call('GET', '/api/health')).body).toMatchObject({ runtime: 'process', docker: { available: false } });
    expect((await t.client.call('GET', '/api/host')).body.runtime).toBe('process');
  });

  it('runs commands in a process group with env and a log, port = spec port', async () => {
    const spec = t.spec({ image: undefined, port: 18123, env: { GREETING: 'hello' }, commands: ['echo "$GREETING $DSTACK_RUN_NAME $DSTACK_NODES_NUM"', 'exit 4'] });
    await t.client.call('POST', '/api/replicas', spec);
    const state = await t.client.waitTerminal(spec.id);
    expect(state).toMatchObject({ runtime: 'process', phase: 'exited', exitCode: 4, hostPort: 18123, reason: 'CONTAINER_EXITED' });
    expect(state.message).toContain('hello svc 1');
    expect((await t.client.logs(spec.id)).toString()).toBe('hello svc 1\n');
  });

  it('fails an image-only spec with a clear reason, and runs image + commands on the host with a note', async () => {
    const only = t.spec({ image: 'nginx:latest' });
    expect((await t.client.call('POST', '/api/replicas', only)).status).toBe(201);
    const failed = await t.client.waitTerminal(only.id);
    expect(failed).toMatchObject({ phase: 'failed', reason: 'IMAGE_REQUIRES_DOCKER' });
    expect(failed.message).toContain('nginx:latest');

    const both = t.spec({ image: 'python:3.12', commands: ['sleep 60'] });
    await t.client.call('POST', '/api/replicas', both);
    const running = await t.client.waitFor(both.id, (s) => s.phase === 'running');
    expect(running.message).toContain('python:3.12 is not used');
    expect(alive(running.pid!)).toBe(true);
    const stopped = await t.client.call('DELETE', `/api/replicas/${both.id}`);
    expect(stopped.body).toMatchObject({ phase: 'exited', reason: 'STOPPED' });
    expect(alive(running.pid!)).toBe(false);
  });

  it('stops the whole process group, killing what ignores SIGTERM after the timeout', async () => {
    const spec = t.spec({ commands: ["trap '' TERM; sleep 600 & echo child=$!; wait"], stopTimeoutSeconds: 1 });
    await t.client.call('POST', '/api/replicas', spec);
    const running = await t.client.waitFor(spec.id, (s) => s.phase === 'running');
    let log = '';
    while (!log.includes('child=')) log = (await t.client.logs(spec.id)).toString();
    const childPid = Number(/child=(\d+)/.exec(log)![1]);
    expect(alive(childPid)).toBe(true);
    await t.client.call('DELETE', `/api/replicas/${spec.id}`);
    expect(alive(running.pid!)).toBe(false);
    expect(alive(childPid)).toBe(false);
    expect(existsSync(`${t.home}/replicas/${spec.id}`)).toBe(false);
  });

  it('follows a process log until the process ends, bytes untouched', async () => {
    const spec = t.spec({ commands: ['for i in 1 2 3; do echo line-$i; sleep 0.2; done', "printf 'raw:\\377:end\\n'"] });
    await t.client.call('POST', '/api/replicas', spec);
    const buf = await t.client.logs(spec.id, '?follow=1');
    expect(buf.includes(Buffer.from('line-1\nline-2\nline-3\nraw:'))).toBe(true);
    expect(buf.includes(Buffer.from([0x72, 0x61, 0x77, 0x3a, 0xff, 0x3a]))).toBe(true);
  });

  it('fails an unknown user with UNKNOWN_USER and Docker-only specs with DOCKER_UNAVAILABLE', async () => {
    const spec = t.spec({ user: 'no-such-user', commands: ['true'] });
    await t.client.call('POST', '/api/replicas', spec);
    expect(await t.client.waitTerminal(spec.id)).toMatchObject({ phase: 'failed', reason: 'UNKNOWN_USER' });
    const docker = await t.client.call('POST', '/api/replicas', t.spec({ runtime: 'docker', commands: ['true'] }));
    expect(docker).toMatchObject({ status: 503, body: { code: 'DOCKER_UNAVAILABLE' } });
  });
});
