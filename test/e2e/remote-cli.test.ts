/**
 * The remote CLI (issue 17), with the built CLI: a "server" is `dstack server` over HTTPS on its own DSTACK_HOME
 * (a self-signed certificate the client trusts through NODE_EXTRA_CA_CERTS only), a user and a project made there;
 * a client home adds that project (`project add` checks URL and token first), makes it the default, applies a
 * service with a code folder (the archive is uploaded once), follows it with `ps` and `logs`, and switches back to
 * its own local daemon with `--project`. No command meant for the remote server starts a local daemon.
 * Needs `npm run build` and the test dockerd.
 */
import { execa } from 'execa';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoServiceYaml, eventually, freePort, newCli, requireDocker, uniqueName, type Cli } from './cli-harness.js';

let server: Cli;
let client: Cli;
let certDir: string;
let cert: string;
let stopServer: () => void = () => undefined;
let url: string;
let aliceToken: string;
const run = uniqueName('remote');

/** A self-signed certificate for 127.0.0.1, made with the real openssl as test/helpers/tls-cert.ts does. */
async function loopbackCert(dir: string): Promise<{ cert: string; key: string }> {
  const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', files.key, '-out', files.cert]);
  return files;
}

const remote = (args: string[], env: Record<string, string> = {}) => client.run(args, { env: { NODE_EXTRA_CA_CERTS: cert, ...env } });

beforeAll(async () => {
  await requireDocker();
  server = await newCli();
  client = await newCli();
  certDir = await mkdtemp(join(tmpdir(), 'dstack-e2e-remote-'));
  const pem = await loopbackCert(certDir);
  cert = pem.cert;
  url = `https://127.0.0.1:${server.port}`;
  const child = server.run(['server', '--host', '127.0.0.1', '--port', String(server.port), '--tls-cert', pem.cert, '--tls-key', pem.key]);
  stopServer = () => void child.kill('SIGTERM');
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const check = (c: Buffer) => (seen += c.toString(), /listening on https:\/\//.test(seen) && resolve());
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    void child.then((r) => reject(new Error(`dstack server exited (${r.exitCode}): ${r.stderr}`)));
  });
  const created = await server.run(['user', 'create', 'alice', '--json']);
  expect(created.exitCode, created.stderr).toBe(0);
  aliceToken = (JSON.parse(created.stdout) as { token: string }).token;
  for (const args of [['project', 'create', 'team'], ['project', 'member', 'add', 'team', 'alice', '--role', 'user']]) {
    const r = await server.run(args);
    expect(r.exitCode, r.stderr).toBe(0);
  }
}, 120_000);

afterAll(async () => {
  await remote(['stop', run, '-y', '-x', '--project', 'team']).catch(() => undefined);
  stopServer();
  await server?.cleanup([run]);
  await client?.cleanup([]);
  await rm(certDir, { recursive: true, force: true });
});

describe('dstack project add checks the server before writing config.yml', () => {
  it('refuses a wrong token, an unreachable URL, a project the user is not in, and an untrusted certificate', async () => {
    const wrong = await remote(['project', 'add', '--name', 'team', '--url', url, '--token', 'not-a-token-of-this-server']);
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toContain('does not accept this token (401)');

    const nowhere = await remote(['project', 'add', '--name', 'team', '--url', `http://127.0.0.1:${await freePort()}`, '--token', aliceToken]);
    expect(nowhere.exitCode).toBe(1);
    expect(nowhere.stderr).toContain('No dstack server answers');

    const notMember = await remote(['project', 'add', '--name', 'main', '--url', url, '--token', aliceToken]);
    expect(notMember.exitCode).toBe(1);
    expect(notMember.stderr).toContain('is a project of the local server');
    const other = await remote(['project', 'add', '--name', 'elsewhere', '--url', url, '--token', aliceToken]);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain('is not a member of a project elsewhere');

    // Verification stays on: without the CA the same server is refused.
    const untrusted = await client.run(['project', 'add', '--name', 'team', '--url', url, '--token', aliceToken]);
    expect(untrusted.exitCode).toBe(1);
    expect(untrusted.stderr).toContain('failed the TLS check');
    expect(await client.daemonPid()).toBeUndefined();
  });

  it('adds the project, asks before replacing it, and makes it the default', async () => {
    const added = await remote(['project', 'add', '--name', 'team', '--url', url, '--token', aliceToken]);
    expect(added.exitCode, added.stderr).toBe(0);
    expect((await stat(join(client.home, 'config.yml'))).mode & 0o777).toBe(0o600);
    const again = await remote(['project', 'add', '--name', 'team', '--url', url, '--token', aliceToken]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('-y/--yes');
    expect((await remote(['project', 'add', '--name', 'team', '--url', url, '--token', aliceToken, '-y'])).exitCode).toBe(0);
    const set = await remote(['project', 'set-default', 'team']);
    expect(set.exitCode, set.stderr).toBe(0);
    expect(await client.daemonPid()).toBeUndefined();
  });
});

describe('commands against the remote project', () => {
  it('applies a service with a code folder (the archive uploaded once), then ps and logs go through the server', async () => {
    await writeFile(join(client.dir, 'greeting.txt'), 'hello-from-the-code-folder\n');
    const yaml = echoServiceYaml(run).replace('  - node /srv/http-echo.mjs', '  - cat greeting.txt\n  - node /srv/http-echo.mjs');
    const file = await client.write('service.dstack.yml', yaml);
    const first = await remote(['apply', '-f', file, '-y', '-d']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr).toContain('Uploaded the code archive');
    const archives = (await readdir(join(server.home, 'archives'))).filter((n) => n.endsWith('.tar.gz'));
    expect(archives).toHaveLength(1);
    expect((await stat(join(server.home, 'archives', archives[0]!))).mode & 0o777).toBe(0o600);

    const second = await remote(['apply', '-f', file, '-y', '-d', '--force']);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).not.toContain('Uploaded the code archive');

    const ps = await remote(['ps', '--json']);
    expect(ps.exitCode, ps.stderr).toBe(0);
    expect((JSON.parse(ps.stdout) as { runs: { name: string; project: string }[] }).runs).toEqual([expect.objectContaining({ name: run, project: 'team' })]);
    await eventually('the code folder in the logs', async () => {
      const logs = await remote(['logs', run]);
      return logs.stdout.includes('hello-from-the-code-folder') ? true : undefined;
    });
    // The server's own CLI sees the run in project team, not in its default project.
    expect((JSON.parse((await server.run(['ps', '--json'])).stdout) as { runs: unknown[] }).runs).toEqual([]);
    expect(await client.daemonPid()).toBeUndefined();
  });

  it('--project switches back to the local daemon, and project list shows both', async () => {
    const ps = await remote(['ps', '--json', '--project', 'main']);
    expect(ps.exitCode, ps.stderr).toBe(0);
    expect((JSON.parse(ps.stdout) as { runs: unknown[] }).runs).toEqual([]);
    expect(await client.daemonPid()).toBeDefined();

    const list = await remote(['project', 'list', '--json', '--project', 'main']);
    expect(list.exitCode, list.stderr).toBe(0);
    const { configured } = JSON.parse(list.stdout) as { configured: unknown[] };
    expect(configured).toEqual([
      expect.objectContaining({ name: 'main', url: 'local', default: false }),
      { name: 'team', url, user: 'alice', default: true },
    ]);
  });
});
