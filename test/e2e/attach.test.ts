/**
 * `dstack attach` with the built CLI against a service on the local backend (real test dockerd): the replica's port
 * served on a local port, its logs on stdout, Ctrl+C (SIGINT) ending the attach and freeing the port, and a taken
 * local port refused with the flag that moves it. Needs `scripts/test-hosts.sh up 1` and `npm run build`.
 */
import { connect, createServer, type AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoServiceYaml, eventually, freePort, newCli, requireDocker, uniqueName, type Cli } from './cli-harness.js';

const RUN = uniqueName('e2e-attach');
let cli: Cli;

const connectResult = (port: number) =>
  new Promise<string>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve('connected')));
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });

beforeAll(async () => {
  await requireDocker();
  cli = await newCli();
  const file = await cli.write('attach.dstack.yml', echoServiceYaml(RUN));
  const r = await cli.run(['apply', '-f', file, '-y', '-d']);
  expect(r.exitCode, r.stderr).toBe(0);
  await eventually('the replica ready', async () => ((await cli.ps()).find((x) => x.name === RUN)?.replicas.some((x) => x.status === 'running' && x.ready) ? true : undefined));
}, 180_000);

afterAll(async () => {
  await cli?.cleanup([RUN]);
}, 120_000);

describe('dstack attach', () => {
  it('serves the replica on a local port, follows its logs, and Ctrl+C ends it and frees the port', async () => {
    const local = await freePort();
    const attach = cli.run(['attach', RUN, '-p', `${local}:8000`]);
    let stderr = '';
    let stdout = '';
    attach.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    attach.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    try {
      await eventually('the attach banner', async () => (stderr.includes('Press Ctrl+C to detach') ? true : undefined), 60_000);
      expect(stderr).toContain(`Attached to run ${RUN} (replica=0)`);
      expect(stderr).toContain(`http://127.0.0.1:${local} -> 8000`);

      const res = await request(`http://127.0.0.1:${local}/through-attach?x=1`);
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(await res.body.text())).toMatchObject({ path: '/through-attach', query: { x: '1' } });
      // The echo server logs one line per request: the attach prints the replica's log as it follows.
      await eventually('the request in the followed logs', async () => (stdout.includes('GET /through-attach?x=1 200') ? true : undefined), 30_000);
    } finally {
      attach.kill('SIGINT');
    }
    const r = await attach;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('Detached');
    expect(await connectResult(local)).toBe('ECONNREFUSED');
    // Freed, not merely unreachable: it can be bound again.
    const again = createServer();
    await new Promise<void>((resolve, reject) => again.once('error', reject).listen(local, '127.0.0.1', resolve));
    expect((again.address() as AddressInfo).port).toBe(local);
    await new Promise<void>((resolve) => again.close(() => resolve()));
  }, 120_000);

  it('a local port in use is refused with the -p that moves it', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const r = await cli.run(['attach', RUN, '-p', `${port}:8000`]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`local port ${port} is already in use`);
      expect(r.stderr).toContain(`-p ${port + 1}:8000`);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('an unknown run is refused', async () => {
    const r = await cli.run(['attach', 'no-such-run']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('Run no-such-run not found');
  });
});
