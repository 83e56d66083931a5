/**
 * Secrets end to end with the built CLI: `dstack secret set` (stdin, -f), a service whose image sits in a local
 * registry that demands Basic auth, with `registry_auth.password` and an `env` value from project secrets and two
 * more env values from the caller (`env: - CALLER_TOKEN` and `-e FLAG_TOKEN=…`). The container gets every value
 * (its web server writes them to files the test fetches through the proxy, never to logs); the stdout and stderr
 * of every command, `dstack ps --json`, the daemon log and every file under DSTACK_HOME but the secrets file hold
 * none of the secrets, and nothing but state.json holds a caller value. Needs the test dockerd and `npm run build`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from '../integration/agent/registry.js';
import { docker, newCli, requireDocker, uniqueName, type Cli } from './cli-harness.js';

const RUN = uniqueName('e2e-secrets');
const APP_TOKEN = `app-${randomUUID()}`;
const REG_PW = `reg-${randomUUID()}`;
const CALLER = `caller-${randomUUID()}`;
const FLAG = `flag-${randomUUID()}`;
const SECRETS = [APP_TOKEN, REG_PW];
const ALL = [...SECRETS, CALLER, FLAG];
const repo = `team/e2e-${randomUUID().slice(0, 8)}`;

let cli: Cli;
let registry: TestRegistry;
let valueDir: string;
/** stdout and stderr of every command run here (but `secret get`, whose job is to show a value). */
const outputs: string[] = [];

const run = async (args: string[], opts: { env?: Record<string, string>; input?: string } = {}) => {
  const r = await cli.run(args, opts);
  // The command line itself is left out: `-e FLAG_TOKEN=…` holds a value on purpose.
  outputs.push(`$ dstack ${args[0]} …\n${r.stdout}\n${r.stderr}`);
  return r;
};

const service = (image: string, extraEnv = '') => `type: service
name: ${RUN}
image: ${image}
registry_auth:
  username: deploy
  password: \${{ secrets.reg_pw }}
env:
  - APP_TOKEN=\${{ secrets.app_token }}
  - CALLER_TOKEN
${extraEnv}commands:
  - mkdir -p /www
  - echo "$APP_TOKEN" > /www/token
  - echo "$CALLER_TOKEN" > /www/caller
  - echo "$FLAG_TOKEN" > /www/flag
  - exec httpd -f -p 8000 -h /www
port: 8000
auth: false
stop_duration: 1
`;

beforeAll(async () => {
  await requireDocker();
  cli = await newCli();
  registry = await startTestRegistry({ repo, credentials: { username: 'deploy', password: REG_PW } });
  // Outside the configuration's folder, which is packed and uploaded with the run.
  valueDir = await mkdtemp(join(tmpdir(), 'dstack-e2e-secret-'));
});

afterAll(async () => {
  await cli?.cleanup([RUN]);
  await docker().getImage(`${registry?.host}/${repo}:v1`).remove({ force: true }).catch(() => undefined);
  await registry?.close();
  if (valueDir) await rm(valueDir, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('secrets with the built CLI', () => {
  it('sets secrets from standard input and a file; lists names only', async () => {
    expect((await run(['secret', 'set', 'app_token'], { input: `${APP_TOKEN}\n` })).exitCode).toBe(0);
    await writeFile(join(valueDir, 'reg-pw'), REG_PW, { mode: 0o600 });
    expect((await run(['secret', 'set', 'reg_pw', '-f', join(valueDir, 'reg-pw')])).exitCode).toBe(0);
    const list = await run(['secret', 'list', '--json']);
    expect((JSON.parse(list.stdout) as { secrets: { name: string }[] }).secrets.map((s) => s.name)).toEqual(['app_token', 'reg_pw']);
    expect((await run(['secret'])).stdout).toMatch(/^NAME\s+CREATED\s+UPDATED\napp_token/);
    const get = await cli.run(['secret', 'get', 'reg_pw', '--json']);
    expect(JSON.parse(get.stdout)).toMatchObject({ name: 'reg_pw', value: REG_PW });
  });

  it('refuses to apply a service whose secret is missing, naming it and the key', async () => {
    const file = await cli.write('missing.dstack.yml', service(`${registry.host}/${repo}:v1`, '  - OTHER=${{ secrets.not_set }}\n'));
    const r = await run(['apply', '-f', file, '-y', '-d'], { env: { CALLER_TOKEN: CALLER } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('Secret `not_set` is not set (used in `env.OTHER`)');
    expect(r.stderr).toContain('dstack secret set not_set');
  });

  it('the replica pulls with the secret password and gets the secret and caller values', async () => {
    const file = await cli.write('svc.dstack.yml', service(`${registry.host}/${repo}:v1`));
    const r = await run(['apply', '-f', file, '-y', '-e', `FLAG_TOKEN=${FLAG}`], { env: { CALLER_TOKEN: CALLER } });
    expect(r.exitCode, r.stderr).toBe(0);
    const basic = `Basic ${Buffer.from(`deploy:${REG_PW}`).toString('base64')}`;
    expect(registry.requests.some((q) => q.url.includes('/manifests/') && q.authorization === basic)).toBe(true);
    const served = async (name: string) => {
      const res = await request(`http://127.0.0.1:${cli.port}/proxy/services/main/${RUN}/${name}`);
      return (await res.body.text()).trim();
    };
    expect([await served('token'), await served('caller'), await served('flag')]).toEqual([APP_TOKEN, CALLER, FLAG]);
  });

  it('no command output, ps --json, daemon log or file under DSTACK_HOME (but the secrets file) holds a secret', async () => {
    const ps = await run(['ps', '-a', '--json']);
    const view = (JSON.parse(ps.stdout) as { runs: { name: string; config: unknown }[] }).runs.find((x) => x.name === RUN);
    expect(view?.config).toMatchObject({ env: { APP_TOKEN: '${{ secrets.app_token }}', CALLER_TOKEN: '***', FLAG_TOKEN: '***' } });
    await run(['ps', '-a', '-v']);
    await run(['logs', RUN]);
    await run(['apply', '-f', join(cli.dir, 'svc.dstack.yml'), '-y', '-e', `FLAG_TOKEN=${FLAG}`], { env: { CALLER_TOKEN: CALLER } });
    await run(['apply', '-f', join(cli.dir, 'svc.dstack.yml'), '-y', '--json', '-d', '--force', '-e', `FLAG_TOKEN=${FLAG}`], { env: { CALLER_TOKEN: CALLER } });
    const all = outputs.join('\n');
    for (const v of ALL) expect(all, 'command output').not.toContain(v);
    const log = await readFile(join(cli.home, 'server', 'logs', 'daemon.log'), 'utf8');
    for (const v of ALL) expect(log, 'daemon log').not.toContain(v);
    // State keeps what the caller gave (replicas started later need it), never a secret; nothing else keeps either.
    const secretsFile = join(cli.home, 'server', 'secrets.json');
    const stateFile = join(cli.home, 'server', 'state.json');
    for (const f of await filesUnder(cli.home)) {
      const text = await readFile(f, 'latin1');
      if (f === secretsFile) expect(text).toContain(APP_TOKEN);
      else for (const v of f === stateFile ? SECRETS : ALL) expect(text, f).not.toContain(v);
    }
  });

  it('delete asks first (refused without a terminal), then removes the secret', async () => {
    expect((await run(['secret', 'delete', 'app_token'])).stderr).toContain('Pass -y/--yes');
    expect((await run(['secret', 'delete', 'app_token', '-y'])).stdout).toBe('OK');
    expect((await run(['secret', 'get', 'app_token'])).stderr).toContain('Secret app_token not found');
  });
});
