import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { dockerClient } from '../../../src/agent/docker/connect.js';
import { tarOf } from './registry.js';

/**
 * A dockerd of this test's own, which the test may stop and start again (the shared test engine must never
 * be stopped under other tests). No bridge and no iptables: it touches nothing outside its directories.
 */
export interface PrivateDockerd {
  dockerHost: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

export const PRIVATE_IMAGE = 'agent-fault/busybox:1';

export async function privateDockerd(): Promise<PrivateDockerd> {
  const dir = await mkdtemp(path.join('/tmp', 'agent-dockerd-'));
  const sock = path.join(dir, 'docker.sock');
  const dockerHost = `unix://${sock}`;
  const pidfile = path.join(dir, 'docker.pid');
  const pid = async () => Number((await readFile(pidfile, 'utf8').catch(() => '')).trim());
  const waitFor = async (ok: () => Promise<boolean>, what: string) => {
    for (let i = 0; i < 300; i++) {
      if (await ok()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`private dockerd: ${what} (log: ${path.join(dir, 'docker.log')})`);
  };
  const answers = () => dockerClient(dockerHost).ping().then(() => true, () => false);
  const self: PrivateDockerd = {
    dockerHost,
    async start() {
      const log = await import('node:fs').then((fs) => fs.openSync(path.join(dir, 'docker.log'), 'a'));
      const child = spawn('dockerd', [
        '--host', dockerHost, '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'),
        '--pidfile', pidfile, '--bridge=none', '--iptables=false', '--shutdown-timeout', '2',
      ], { detached: true, stdio: ['ignore', log, log] });
      child.on('error', () => undefined);
      child.unref();
      await waitFor(answers, 'did not answer (is docker.io installed and are we root?)');
    },
    async stop() {
      const p = await pid();
      if (p > 0) process.kill(p, 'SIGTERM');
      await waitFor(async () => !(await answers()) && !(await readFile(pidfile).then(() => true, () => false)), 'did not stop');
    },
    async dispose() {
      if (await answers()) {
        const docker = dockerClient(dockerHost);
        for (const c of await docker.listContainers({ all: true })) await docker.getContainer(c.Id).remove({ force: true });
        await self.stop();
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  await self.start();
  const tar = tarOf([{ name: 'bin/sh', content: readFileSync('/usr/bin/busybox'), mode: 0o755 }]);
  const stream = await dockerClient(dockerHost).importImage(Readable.from([tar]) as unknown as NodeJS.ReadableStream, { repo: 'agent-fault/busybox', tag: '1' });
  await new Promise((resolve, reject) => { stream.on('end', resolve); stream.on('error', reject); stream.resume(); });
  void os;
  return self;
}
