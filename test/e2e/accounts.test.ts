/**
 * Users and projects with the built CLI (issue 17): `dstack user create|list|delete`, `dstack project
 * create|list|delete` and `dstack project member add|remove` against the daemon they start. A created user's token
 * is printed once and then appears nowhere: not in later output, the daemon log, or any file under DSTACK_HOME.
 * Other users act through the HTTP API with their own token (the CLI always uses its home's). Needs `npm run build`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCli, type Cli } from './cli-harness.js';

let cli: Cli;
const outputs: string[] = [];

const run = async (args: string[]) => {
  const r = await cli.run(args);
  outputs.push(`${r.stdout}\n${r.stderr}`);
  return r;
};

async function api(token: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await request(`http://127.0.0.1:${cli.port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

beforeAll(async () => {
  cli = await newCli();
});

afterAll(async () => {
  await cli?.cleanup([]);
});

describe('users and projects with the built CLI', () => {
  it('creates users whose token is printed once, manages projects and members, and never shows a token again', async () => {
    const created = await run(['user', 'create', 'alice', '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    // config.yml is made by the first command; its user is the server's admin.
    const me = (await readFile(join(cli.home, 'config.yml'), 'utf8')).match(/^user: (.+)$/m)?.[1];
    const { user, token: alice } = JSON.parse(created.stdout) as { user: { name: string; globalRole: string }; token: string };
    expect(user).toMatchObject({ name: 'alice', globalRole: 'user' });

    const plain = await run(['user', 'create', 'bob', '--role', 'admin']);
    expect(plain.exitCode, plain.stderr).toBe(0);
    // stdout is the token alone (execa drops the final newline), ready for `TOKEN=$(dstack user create …)`.
    const bob = plain.stdout;
    expect(bob).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(plain.stderr).toContain('shown this once only');
    expect((await api(bob, 'GET', '/api/me')).body).toEqual({ user: 'bob', globalRole: 'admin' });
    expect((await api(alice, 'GET', '/api/me')).body).toEqual({ user: 'alice', globalRole: 'user' });
    const tokens = [alice, bob];
    const countBefore = outputs.length;

    const list = await run(['user', 'list']);
    expect(list.exitCode, list.stderr).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+ROLE\s+CREATED$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual([`${me} admin`, 'alice user', 'bob admin']);
    const listJson = JSON.parse((await run(['user', 'list', '--json'])).stdout) as { users: Array<Record<string, unknown>> };
    expect(listJson.users.map((u) => Object.keys(u).sort())).toEqual([0, 1, 2].map(() => ['createdAt', 'globalRole', 'name']));

    expect((await run(['project', 'create', 'team'])).stdout).toBe('OK');
    const added = await run(['project', 'member', 'add', 'team', 'alice', '--role', 'manager']);
    expect([added.exitCode, added.stdout, added.stderr], added.stderr).toEqual([0, 'OK', 'User alice is a manager of project team']);
    const projects = await run(['project', 'list']);
    expect(projects.stdout).toMatch(/^NAME\s+YOUR ROLE\s+MEMBERS/m);
    expect(projects.stdout).toMatch(new RegExp(`^team\\s+admin\\s+${me} \\(admin\\), alice \\(manager\\)$`, 'm'));
    expect(projects.stdout).toMatch(new RegExp(`^main\\s+admin\\s+${me} \\(admin\\)$`, 'm'));
    const asJson = JSON.parse((await run(['project', 'list', '--json'])).stdout) as { projects: Array<{ name: string; role: string }> };
    expect(asJson.projects.map((p) => `${p.name}:${p.role}`)).toEqual(['main:admin', 'team:admin']);

    // alice sees her project only, and may not manage users.
    expect((await api(alice, 'GET', '/api/projects')).body.projects.map((p: { name: string; role: string }) => `${p.name}:${p.role}`)).toEqual(['team:manager']);
    expect((await api(alice, 'GET', '/api/users')).status).toBe(403);

    expect((await run(['project', 'member', 'remove', 'team', 'alice'])).stdout).toBe('OK');
    expect((await api(alice, 'GET', '/api/projects')).body.projects).toEqual([]);

    // Without a terminal, deleting asks for -y instead of hanging; with it, the token stops working at once.
    const ask = await run(['user', 'delete', 'alice']);
    expect(ask.exitCode).toBe(1);
    expect(ask.stderr).toContain('-y');
    expect((await api(alice, 'GET', '/api/me')).status).toBe(200);
    expect((await run(['user', 'delete', 'alice', '-y'])).stdout).toBe('OK');
    expect((await api(alice, 'GET', '/api/me')).status).toBe(401);
    const askProject = await run(['project', 'delete', 'team']);
    expect([askProject.exitCode, askProject.stderr.includes('-y')]).toEqual([1, true]);
    expect((await run(['project', 'delete', 'team', '-y'])).stdout).toBe('OK');
    expect(JSON.parse((await run(['project', 'list', '--json'])).stdout).projects.map((p: { name: string }) => p.name)).toEqual(['main']);

    // After the one answer, no output, log line or file under the home holds a token.
    for (const out of outputs.slice(countBefore)) for (const t of tokens) expect(out).not.toContain(t);
    for (const file of await filesUnder(cli.home)) {
      const text = await readFile(file, 'utf8').catch(() => '');
      for (const t of tokens) expect(text, file).not.toContain(t);
    }
    expect(await readFile(join(cli.home, 'server', 'logs', 'daemon.log'), 'utf8')).toContain('listening on');
  });

  it('fails clearly: a bad name, a bad or missing --role, an unknown user or project, the last admin', async () => {
    const bad = await run(['user', 'create', 'Not Valid']);
    expect([bad.exitCode, bad.stdout]).toEqual([1, '']);
    expect(bad.stderr).toContain('user name "Not Valid" is not valid');
    const role = await run(['user', 'create', 'carol', '--role', 'owner']);
    expect(role.exitCode).toBe(2);
    expect(role.stderr).toContain('--role');
    const missing = await run(['project', 'member', 'add', 'main', 'carol']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('role');
    const ghost = await run(['project', 'member', 'add', 'main', 'ghost', '--role', 'user']);
    expect([ghost.exitCode, ghost.stderr.includes('user ghost not found')]).toEqual([1, true]);
    const noProject = await run(['project', 'delete', 'nope', '-y']);
    expect([noProject.exitCode, noProject.stderr.includes('Project nope not found')]).toEqual([1, true]);
    const me = (await readFile(join(cli.home, 'config.yml'), 'utf8')).match(/^user: (.+)$/m)?.[1] ?? '';
    const last = await run(['project', 'member', 'remove', 'main', me]);
    expect([last.exitCode, last.stderr.includes(`user ${me} is the last admin of project main`)]).toEqual([1, true]);
    const self = await run(['user', 'delete', me, '-y']);
    expect([self.exitCode, self.stderr.includes('cannot delete themselves')]).toEqual([1, true]);
    const json = await run(['user', 'list', '--json', '--bogus']);
    expect(json.exitCode).toBe(2);
  });
});
