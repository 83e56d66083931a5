import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveHome } from '../../core/home/paths.js';
import { acquireDaemonLock } from './lock.js';

const homes: string[] = [];
afterEach(async () => {
  for (const h of homes.splice(0)) await rm(h, { recursive: true, force: true });
});

async function newHome() {
  const home = await mkdtemp(join(tmpdir(), 'dstack-lock-'));
  homes.push(home);
  return resolveHome({ DSTACK_HOME: home });
}

describe('the daemon lock', () => {
  it('refuses a second daemon of the same home at once, and is free again once released', async () => {
    const paths = await newHome();
    const release = await acquireDaemonLock(paths, () => undefined);
    await expect(acquireDaemonLock(paths, () => undefined)).rejects.toMatchObject({ code: 'DAEMON_RUNNING' });
    await release();
    const again = await acquireDaemonLock(paths, () => undefined);
    await again();
  });

  it.runIf(process.platform === 'linux')('takes over the lock of a holder killed with -9 (its socket died with it) without waiting for it to go stale', async () => {
    const paths = await newHome();
    // A holder in another process: it takes the lock as the daemon does, records its pid, and is then killed.
    const script = `
      const lockfile = require(${JSON.stringify(require.resolve('proper-lockfile'))});
      const net = require('node:net');
      const { createHash } = require('node:crypto');
      const { resolve } = require('node:path');
      lockfile.lock(${JSON.stringify(paths.serverDir)}, { lockfilePath: ${JSON.stringify(paths.lockFile)}, realpath: false, stale: 5000, update: 1000 }).then(() => {
        const name = '\\0dstack-daemon:' + createHash('sha256').update(resolve(${JSON.stringify(paths.serverDir)})).digest('hex');
        net.createServer().listen({ path: name }, () => process.stdout.write('locked\\n'));
      });`;
    await mkdir(paths.serverDir, { recursive: true });
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()));
    await writeFile(paths.daemonFile, JSON.stringify({ pid: child.pid, port: 1, host: '127.0.0.1', startedAt: Date.now(), version: 'x' }));
    await expect(acquireDaemonLock(paths, () => undefined)).rejects.toMatchObject({ code: 'DAEMON_RUNNING' });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // A lock that looks freshly refreshed (mtime a minute ahead: neither its age nor proper-lockfile's stale check
    // can call it stale): only the dead socket tells us its holder is gone.
    const ahead = new Date(Date.now() + 60_000);
    await utimes(paths.lockFile, ahead, ahead);
    const release = await acquireDaemonLock(paths, () => undefined);
    await release();
  });
});
