/**
 * A daemon that cannot start (its port is taken by something else): `dstack ps --json` says so once, with the
 * daemon's own error from its log, exit 1 and a JSON error on stdout, after starting it exactly once (the direct `ps`
 * path must not hand over to oclif, which would start and wait for a second one). Needs `npm run build`.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newCli, type Cli } from './cli-harness.js';

let cli: Cli | undefined;
let squatter: Server | undefined;

afterAll(async () => {
  await new Promise<void>((resolve) => (squatter ? squatter.close(() => resolve()) : resolve()));
  await cli?.cleanup([]);
});

describe('a daemon that cannot start', () => {
  it('is reported once, with its reason, by ps --json', async () => {
    cli = await newCli();
    const port = cli.port;
    squatter = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => squatter!.listen(port, '127.0.0.1', resolve));
    const r = await cli.run(['ps', '--json']);
    expect(r.exitCode, r.stderr).toBe(1);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe('DAEMON_START_FAILED');
    expect(r.stderr).toContain('did not start');
    expect(r.stderr).toContain('EADDRINUSE');
    const log = await readFile(join(cli.home, 'server', 'logs', 'daemon.log'), 'utf8');
    expect(log.match(/EADDRINUSE: address already in use/g)).toHaveLength(1);
  }, 120_000);
});
