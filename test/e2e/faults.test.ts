/**
 * Faults end to end: the daemon killed mid-stream, a replica container killed, two applies racing, and bad input.
 * Needs root, `scripts/test-hosts.sh up 1` and `npm run build` (see cli-harness.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersOf, docker, eventually, newCli, requireDocker, uniqueName, type Cli, echoServiceYaml } from './cli-harness.js';

const A = uniqueName('e2e-fa');
const B = uniqueName('e2e-fb');
const C = uniqueName('e2e-fc');
let cli: Cli;


beforeAll(async () => {
  await requireDocker();
  cli = await newCli();
});

afterAll(async () => {
  await cli?.cleanup([A, B, C]);
});

const ids = async (run: string) => (await containersOf(run)).map((c) => c.Id).sort();
const answers = async (url: string) => {
  const res = await request(url);
  await res.body.text();
  return res.statusCode === 200 ? true : undefined;
};

describe('faults', () => {
  it('two `apply -y -d` at once both create their run, and the state file stays valid JSON', async () => {
    await cli.write('a.dstack.yml', echoServiceYaml(A));
    await cli.write('b.dstack.yml', echoServiceYaml(B));
    const [ra, rb] = await Promise.all([cli.run(['apply', '-f', 'a.dstack.yml', '-y', '-d']), cli.run(['apply', '-f', 'b.dstack.yml', '-y', '-d'])]);
    expect(ra.exitCode, ra.stderr).toBe(0);
    expect(rb.exitCode, rb.stderr).toBe(0);
    expect(ra.stderr).toContain(`Run ${A} submitted, detaching...`);
    const stateText = await readFile(join(cli.home, 'server/state.json'), 'utf8');
    const names = (await cli.ps()).map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining([A, B]));
    // The daemon is the single writer: the file parses even right after two concurrent submissions.
    expect(() => JSON.parse(stateText)).not.toThrow();
    await eventually(`${A} and ${B} running`, async () => {
      const runs = await cli.ps();
      return [A, B].every((n) => runs.find((r) => r.name === n)?.replicas.some((x) => x.ready)) ? true : undefined;
    });
  });

  it('kill -9 of the daemon during an SSE stream: the client sees the end, `dstack ps` restarts it, same containers', async () => {
    const run = (await cli.ps()).find((r) => r.name === A)!;
    const before = await ids(A);
    expect(before).toHaveLength(1);
    const pid = await cli.daemonPid();
    expect(pid).toBeGreaterThan(0);
    const res = await request(`${run.url}sse?n=1000&interval=100`);
    const reading = (async () => {
      let events = 0;
      for await (const chunk of res.body) events += String(chunk).split('data:').length - 1;
      return events;
    })().catch((e: unknown) => e);
    process.kill(pid!, 'SIGKILL');
    const outcome = await reading;
    // Either an error or an early end: never the full 1000 events.
    expect(typeof outcome === 'number' ? outcome < 1000 : outcome instanceof Error).toBe(true);

    const ps = await cli.run(['ps']);
    expect(ps.exitCode, ps.stderr).toBe(0);
    expect(ps.stdout).toContain(A);
    expect(await cli.daemonPid()).not.toBe(pid);
    await eventually('the service answers again', () => answers(`${run.url}echo`));
    expect(await ids(A)).toEqual(before);
  });

  it('a killed replica container is replaced and the run stays running', async () => {
    const [old] = await ids(B);
    expect(old).toBeDefined();
    await docker().getContainer(old!).kill();
    const replaced = await eventually('a new ready replica', async () => {
      const now = await ids(B);
      const run = (await cli.ps()).find((r) => r.name === B);
      const ready = run?.replicas.some((x) => x.status === 'running' && x.ready);
      return now.length === 1 && now[0] !== old && ready ? now[0] : undefined;
    });
    expect(replaced).not.toBe(old);
    expect((await cli.ps()).find((r) => r.name === B)?.status).toBe('running');
    await eventually('the service answers', async () => answers((await cli.ps()).find((r) => r.name === B)!.url + 'echo'));
  });
});

describe('bad input', () => {
  it('a missing file: clear error, exit 1, no run', async () => {
    const r = await cli.run(['apply', '-f', 'nope.dstack.yml', '-y']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('nope.dstack.yml');
  });

  it('invalid YAML names the file, line and column', async () => {
    await cli.write('bad.dstack.yml', 'type: service\nname: bad\ncommands:\n  - echo\n port: 8000\n');
    const r = await cli.run(['apply', '-f', 'bad.dstack.yml', '-y']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/bad\.dstack\.yml:\d+:\d+/);
    expect((await cli.ps()).map((x) => x.name)).not.toContain('bad');
  });

  it('an unknown key is reported with its position', async () => {
    await cli.write('typo.dstack.yml', 'type: service\nname: typo\ncommands: [echo]\nport: 8000\nreplica: 2\n');
    const r = await cli.run(['apply', '-f', 'typo.dstack.yml', '-y']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/typo\.dstack\.yml:5:1/);
    expect(r.stderr).toContain('replica');
  });

  it('an unknown flag is a usage error', async () => {
    const r = await cli.run(['apply', '--frobnicate']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--frobnicate');
  });

  it('a required env var that is not set fails before anything is created', async () => {
    const name = C;
    expect(process.env.HF_TOKEN, 'this test needs HF_TOKEN unset in its environment').toBeUndefined();
    await cli.write('env.dstack.yml', `type: service\nname: ${name}\nimage: dstack-test/node:latest\nenv:\n  - HF_TOKEN\ncommands: [node /srv/http-echo.mjs]\nport: 8000\n`);
    const r = await cli.run(['apply', '-f', 'env.dstack.yml', '-y', '-d']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('HF_TOKEN');
    expect((await cli.ps()).map((x) => x.name)).not.toContain(name);
    const ok = await cli.run(['apply', '-f', 'env.dstack.yml', '-y', '-d', '-e', 'HF_TOKEN=hf_secret_value']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout + ok.stderr).not.toContain('hf_secret_value');
  });
});
