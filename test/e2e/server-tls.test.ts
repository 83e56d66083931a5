/**
 * `dstack server` exposed safely (issue 17), driven through the built CLI: HTTPS with the given PEM files and the
 * CLI reaching it through daemon.json's certificate, refusal of plain HTTP off loopback, the --insecure-http
 * warning, the flag and PEM errors before anything listens, and the failed-login limit on the control API.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { pinnedTrust } from '../../src/core/client/tls-trust.js';
import { makeCert, type TestCert } from '../helpers/tls-cert.js';
import { newCli, type Cli } from './cli-harness.js';

let cli: Cli;
let dir: string;
let pem: TestCert;

beforeAll(async () => {
  cli = await newCli();
  dir = await mkdtemp(join(tmpdir(), 'dstack-e2e-tls-'));
  pem = await makeCert(dir);
});
afterAll(async () => {
  await cli.cleanup([]);
  await rm(dir, { recursive: true, force: true });
});

/** Starts `dstack server` and resolves once it printed `line` on stderr or stdout; the caller kills it. */
async function serverUntil(args: string[], line: RegExp) {
  const child = cli.run(['server', ...args]);
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const check = (c: Buffer) => {
      seen += c.toString();
      if (line.test(seen)) resolve();
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    void child.then((r) => reject(new Error(`dstack server exited (${r.exitCode}) before printing ${line}: ${r.stderr}`)));
  });
  return { child, output: () => seen };
}

describe('dstack server refuses unsafe or broken exposure before listening', () => {
  it('refuses plain HTTP on 0.0.0.0, naming the flags that allow it', async () => {
    const r = await cli.run(['server', '--host', '0.0.0.0']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/--tls-cert/);
    expect(r.stderr).toMatch(/--insecure-http/);
    expect(await cli.daemonPid()).toBeUndefined();
  });

  it('names the missing flag when only --tls-cert is given', async () => {
    const r = await cli.run(['server', '--tls-cert', pem.cert]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/--tls-key is missing/);
  });

  it('names a broken PEM file and never prints the key content', async () => {
    const badKey = join(dir, 'bad-key.pem');
    await writeFile(badKey, '-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL0123456789\n-----END PRIVATE KEY-----\n');
    const r = await cli.run(['server', '--tls-cert', pem.cert, '--tls-key', badKey]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(badKey);
    expect(r.stderr + r.stdout).not.toContain('TOPSECRET');

    const badCert = join(dir, 'bad-cert.pem');
    await writeFile(badCert, 'not a certificate\n');
    const c = await cli.run(['server', '--tls-cert', badCert, '--tls-key', pem.key]);
    expect(c.exitCode).not.toBe(0);
    expect(c.stderr).toContain(badCert);

    const missing = await cli.run(['server', '--tls-cert', join(dir, 'nope.pem'), '--tls-key', pem.key]);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain(join(dir, 'nope.pem'));
  });

  it('serves plain HTTP on 0.0.0.0 with --insecure-http, after a loud warning', async () => {
    const { child, output } = await serverUntil(['--host', '0.0.0.0', '--insecure-http'], /listening on http:\/\//);
    child.kill('SIGTERM');
    await child;
    expect(output()).toMatch(/WARNING: serving plain HTTP on 0\.0\.0\.0/);
  });
});

describe('dstack server over TLS', () => {
  it('serves HTTPS on 0.0.0.0; the CLI finds it through daemon.json and `ps` works; wrong tokens get 429 after ten', async () => {
    const { child } = await serverUntil(['--host', '0.0.0.0', '--tls-cert', pem.cert, '--tls-key', pem.key], /listening on https:\/\//);
    try {
      const info = JSON.parse(await readFile(join(cli.home, 'server/daemon.json'), 'utf8')) as { scheme: string; tlsCert: string };
      expect(info).toMatchObject({ scheme: 'https', tlsCert: pem.cert });
      expect(await cli.ps()).toEqual([]);

      const trust = await pinnedTrust(pem.cert);
      const from = (localAddress: string) => new Agent({ connect: { ...trust }, localAddress });
      const [a, b] = [from('127.0.0.1'), from('127.0.0.2')];
      const runs = async (dispatcher: Agent, token: string) => {
        const res = await request(`https://127.0.0.1:${cli.port}/api/runs`, { dispatcher, headers: { authorization: `Bearer ${token}` } });
        await res.body.dump();
        return { status: res.statusCode, retryAfter: res.headers['retry-after'] };
      };
      for (let i = 0; i < 10; i++) expect((await runs(a, `wrong-${i}`)).status).toBe(401);
      const blocked = await runs(a, await cli.token());
      expect(blocked.status).toBe(429);
      expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
      expect((await runs(b, await cli.token())).status).toBe(200);
      await Promise.all([a.close(), b.close()]);
    } finally {
      child.kill('SIGTERM');
      await child;
    }
  });
});
