// Proves what scripts/test-hosts.sh provides: the root test engine with the three local images serving, and
// network-namespace hosts each reachable over SSH (host key verified) with their own dockerd, whose published
// 127.0.0.1 ports are reachable through an SSH port-forward — the path the daemon uses to reach agents.
// Needs root and `scripts/test-hosts.sh up 2` (or more); fails with that hint otherwise.
import { afterAll, describe, expect, it } from 'vitest';
import type { Client } from 'ssh2';
import { startTestContainer, type StartedContainer } from '../helpers/docker.js';
import { httpGet, waitForHttp } from '../helpers/net.js';
import { sshConnect, sshExec, sshForward } from '../helpers/ssh.js';
import { loadTestHosts, testDockerHost, TEST_IMAGES, type TestHost } from '../helpers/test-hosts.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function serve(image: string, port: number, cmd?: string[]): Promise<{ c: StartedContainer; url: string }> {
  const c = await startTestContainer(testDockerHost(), { image, ports: [port], ...(cmd ? { cmd } : {}) });
  cleanups.push(c.remove);
  return { c, url: `http://127.0.0.1:${c.hostPort(port)}` };
}

describe('root test dockerd images', () => {
  it('node image: http-echo answers with the request it got', async () => {
    const { url } = await serve(TEST_IMAGES.node, 8080);
    await waitForHttp(`${url}/health`);
    const res = await httpGet(`${url}/some/path?x=1`, { 'x-probe': 'yes' });
    const echoed = JSON.parse(res.body) as { method: string; path: string; query: object; headers: object };
    expect(echoed).toMatchObject({ method: 'GET', path: '/some/path', query: { x: '1' }, headers: { 'x-probe': 'yes' } });
  });

  it('node image: the OpenAI and TGI test servers start from /srv', async () => {
    const openai = await serve(TEST_IMAGES.node, 8000, ['node', '/srv/openai-server.mjs']);
    const tgi = await serve(TEST_IMAGES.node, 8080, ['node', '/srv/tgi-server.mjs']);
    const models = await waitForHttp(`${openai.url}/v1/models`);
    expect(JSON.parse(models.body)).toMatchObject({ object: 'list', data: [{ id: 'test-model' }] });
    const info = await waitForHttp(`${tgi.url}/info`);
    expect(JSON.parse(info.body)).toMatchObject({ model_id: 'test/tgi-model' });
  });

  it('python image: python3 -m http.server serves a directory listing', async () => {
    const { url } = await serve(TEST_IMAGES.python, 8000);
    const res = await waitForHttp(`${url}/`);
    expect(res.body).toContain('Directory listing for /');
  });

  it('busybox image: httpd serves, and user app has uid 1000', async () => {
    const script = 'mkdir -p /www && id -u app > /www/uid && httpd -f -p 8080 -h /www';
    const { url } = await serve(TEST_IMAGES.busybox, 8080, ['sh', '-c', script]);
    const res = await waitForHttp(`${url}/uid`);
    expect(res.body.trim()).toBe('1000');
  });
});

describe('network-namespace hosts', () => {
  const hosts = loadTestHosts(2).hosts.slice(0, 2);

  async function connect(host: TestHost): Promise<Client> {
    const client = await sshConnect(host);
    cleanups.push(async () => void client.end());
    return client;
  }

  it.each(hosts.map((h) => [h.name, h] as const))('%s: SSH, its own dockerd, a published port via forwardOut', async (name, host) => {
    const client = await connect(host);
    const env = await sshExec(client, 'echo "$DOCKER_HOST"; docker info --format "{{.DockerRootDir}}"');
    expect(env.code).toBe(0);
    const [dockerHost, rootDir] = env.stdout.trim().split('\n');
    expect(dockerHost).toBe(host.dockerHost);
    expect(rootDir).toContain(`/${name.replace('dstack-', '')}/`); // its own data root, not the root engine's

    const script = `mkdir -p /www && echo "hello from ${name}" > /www/index.html && httpd -f -p 8080 -h /www`;
    const run = await sshExec(client, `docker run -d --label dstack-test.helper=true -p 127.0.0.1::8080 ${TEST_IMAGES.busybox} sh -c '${script}'`);
    expect(run.stderr).toBe('');
    const id = run.stdout.trim();
    cleanups.push(async () => void (await sshExec(client, `docker rm -f ${id}`)));
    const port = await sshExec(client, `docker port ${id} 8080/tcp`);
    const hostPort = Number(port.stdout.trim().split(':').pop());
    expect(hostPort).toBeGreaterThan(0);

    const forward = await sshForward(client, hostPort);
    cleanups.push(forward.close);
    const res = await waitForHttp(`http://127.0.0.1:${forward.port}/`);
    expect(res.body.trim()).toBe(`hello from ${name}`);
  });

  it('refuses a host whose key is not the recorded one', async () => {
    const [first, second] = hosts as [TestHost, TestHost];
    await expect(sshConnect({ ...first, hostKey: second.hostKey })).rejects.toThrow();
  });
});
