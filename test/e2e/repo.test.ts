/**
 * Your code goes with the service (issue 8), end to end with the built CLI on the test dockerd: the applied
 * folder is served from /workflow by `python3 -m http.server`, an uncommitted edit travels on re-apply (the plan
 * says "repo changed"), an ignored file stays behind, `files:` lands at its container path, and `repos:` clones
 * a bare repo from a test host over SSH (`dstack run . -f`, the older form); and the same folder on an SSH fleet
 * host, uploaded through the host's SSH connection. Needs root, `scripts/test-hosts.sh up 1` and `npm run build`.
 */
import { execa } from 'execa';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdTestHosts, loadTestHosts, testHost } from '../helpers/test-hosts.js';
import { eventually, newCli, requireDocker, uniqueName, type Cli } from './cli-harness.js';

const SVC = uniqueName('e2e-repo');
const GIT = uniqueName('e2e-git');
const REMOTE = uniqueName('e2e-repo-ssh');
const FLEET = uniqueName('e2e-repo-fleet');
let cli: Cli;
let bare = '';

const service = (name: string, extra = '') => `type: service
name: ${name}
image: dstack-test/python:latest
commands:
  - ln -sf /opt/data/extra.txt linked.txt
  - python3 -m http.server 8000
port: 8000
auth: false
${extra}`;

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await request(url);
  return { status: r.statusCode, body: await r.body.text() };
}

holdTestHosts();

beforeAll(async () => {
  await requireDocker();
  cli = await newCli();
});

afterAll(async () => {
  await cli?.run(['stop', REMOTE, '-y', '-x']);
  await cli?.run(['fleet', 'delete', FLEET, '-y']);
  await cli?.cleanup([SVC, GIT]);
  if (bare) await rm(bare, { recursive: true, force: true });
});

describe('the applied folder goes with the service', () => {
  const url = () => `http://127.0.0.1:${cli.port}/proxy/services/main/${SVC}/`;

  it('serves a file that exists only in the folder, places files:, and leaves ignored files behind', async () => {
    await writeFile(join(cli.dir, 'page.txt'), 'version one\n');
    await writeFile(join(cli.dir, 'secret.txt'), 'do not upload\n');
    await writeFile(join(cli.dir, '.dstackignore'), 'secret.txt\n');
    await writeFile(join(cli.dir, 'extra.txt'), 'mapped by files\n');
    const file = await cli.write('service.dstack.yml', service(SVC, 'files:\n  - extra.txt:/opt/data/extra.txt\n'));
    const r = await cli.run(['apply', '-f', file, '-y']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Repo\\s+${cli.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ files, [\\d.]+ (B|KB)\\)`));
    expect(await get(`${url()}page.txt`)).toEqual({ status: 200, body: 'version one\n' });
    expect((await get(`${url()}secret.txt`)).status).toBe(404);
    expect(await get(`${url()}linked.txt`)).toEqual({ status: 200, body: 'mapped by files\n' });
  });

  it('re-apply after an edit says "repo changed" and rolls out the new content', async () => {
    await writeFile(join(cli.dir, 'page.txt'), 'version two\n');
    const r = await cli.run(['apply', '-f', join(cli.dir, 'service.dstack.yml'), '-y']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('repo changed');
    await eventually('the new page', async () => ((await get(`${url()}page.txt`)).body === 'version two\n' ? true : undefined));
    const run = (await cli.ps()).find((x) => x.name === SVC);
    expect(run?.deployment).toBe(1);
  });

  it('an unchanged folder is no change at all', async () => {
    const r = await cli.run(['apply', '-f', join(cli.dir, 'service.dstack.yml'), '-y']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('repo changed');
  });

  it('stops before submitting when a files: path does not exist', async () => {
    const bad = uniqueName('e2e-bad');
    const file = await cli.write('bad.dstack.yml', service(bad, 'files:\n  - missing.txt:/opt/m.txt\n'));
    const r = await cli.run(['apply', '-f', file, '-y']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('missing.txt');
    expect(r.stderr).toContain('does not exist');
    expect((await cli.ps()).map((x) => x.name)).not.toContain(bad);
  });
});

describe('repos: a git URL cloned from a test host over SSH', () => {
  it('`dstack run . -f` clones the branch and serves its files', async () => {
    const hosts = loadTestHosts(1);
    const h1 = testHost(0, hosts);
    bare = `/run/dstack-test/hosts/h1/home/${GIT}.git`;
    const src = join(cli.dir, 'src-repo');
    await mkdir(src, { recursive: true });
    const git = (args: string[], cwd: string) =>
      execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd });
    await git(['init', '-q', '--bare', bare], cli.dir);
    await git(['init', '-q'], src);
    await writeFile(join(src, 'from-git.txt'), 'cloned over ssh\n');
    await git(['add', '.'], src);
    await git(['commit', '-qm', 'first'], src);
    await git(['push', '-q', bare, 'HEAD:main'], src);
    await rm(src, { recursive: true, force: true });

    const sshCommand = `ssh -i ${hosts.identityFile} -o UserKnownHostsFile=${hosts.knownHostsFile} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
    const file = await cli.write('git.dstack.yml', `type: service
name: ${GIT}
image: dstack-test/python:latest
commands:
  - python3 -m http.server 8000
port: 8000
auth: false
repos:
  - url: ssh://${h1.user}@${h1.ip}${bare}
    branch: main
`);
    const r = await cli.run(['run', '.', '-f', file, '-y'], { env: { GIT_SSH_COMMAND: sshCommand } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('older form of `dstack apply`');
    expect(r.stdout).toContain(`Repo`);
    expect(r.stdout).toContain(`ssh://${h1.user}@${h1.ip}${bare}`);
    const served = await get(`http://127.0.0.1:${cli.port}/proxy/services/main/${GIT}/from-git.txt`);
    expect(served).toEqual({ status: 200, body: 'cloned over ssh\n' });
  });
});

describe('the same on an SSH fleet host', () => {
  it('uploads the folder through the SSH connection and serves it from the host', async () => {
    const h1 = testHost(0);
    const fleet = await cli.write('fleet.dstack.yml', `type: fleet
name: ${FLEET}
ssh_config:
  user: ${h1.user}
  identity_file: ${h1.identityFile}
  hosts:
    - hostname: ${h1.ip}
      port: ${h1.sshPort}
`);
    const f = await cli.run(['apply', '-f', fleet, '-y']);
    expect(f.exitCode, f.stderr).toBe(0);
    await writeFile(join(cli.dir, 'page.txt'), 'served from the fleet host\n');
    await writeFile(join(cli.dir, 'secret.txt'), 'do not upload\n');
    await writeFile(join(cli.dir, '.dstackignore'), 'secret.txt\n');
    await writeFile(join(cli.dir, 'extra.txt'), 'mapped by files\n');
    const file = await cli.write('remote.dstack.yml', service(REMOTE, `fleets: [${FLEET}]\nfiles:\n  - extra.txt:/opt/data/extra.txt\n`));
    const r = await cli.run(['apply', '-f', file, '-y']);
    expect(r.exitCode, r.stderr).toBe(0);
    const run = (await cli.ps()).find((x) => x.name === REMOTE);
    expect(run?.replicas[0]?.backend).toBe('ssh');
    const base = `http://127.0.0.1:${cli.port}/proxy/services/main/${REMOTE}/`;
    expect(await get(`${base}page.txt`)).toEqual({ status: 200, body: 'served from the fleet host\n' });
    expect(await get(`${base}linked.txt`)).toEqual({ status: 200, body: 'mapped by files\n' });
    expect((await get(`${base}secret.txt`)).status).toBe(404);
  }, 240_000);
});
