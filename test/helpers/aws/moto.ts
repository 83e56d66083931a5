// One real `moto_server` (the AWS API server of the Python package moto 5.x) per test file, on a free loopback
// port (DESIGN.md §6). PyPI is not reachable here, so a missing moto fails loudly, naming what to check.
// MOTO_AMIS_PATH makes its images exactly test/fixtures/aws/amis.json: dstack's default image names (so a default
// aws backend config finds images) plus a custom one. The entries carry no `creation_date`: moto 5.2.1 parses it in
// place in its module-level list, so the second region it loads (or the first reset) fails on the parsed value.
// Picking the newest image by CreationDate is unit-tested instead (src/backends/aws/images.test.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../net.js';

export const MOTO_AMIS_PATH = fileURLToPath(new URL('../../fixtures/aws/amis.json', import.meta.url));

/** moto's default account: `owner: self` images are owned by it. */
export const MOTO_ACCOUNT = '123456789012';

/** Ids of the images in amis.json, one per default name. */
export const FIXTURE_AMIS = {
  cpu: 'ami-0c0ffee0000000002',
  cpuArm: 'ami-0c0ffee0000000003',
  nvidia: 'ami-0d1a0000000000002',
  nvidiaArm: 'ami-0d1a0000000000003',
  custom: 'ami-0e5e1f0000000001',
} as const;

export interface Moto {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Forgets everything (POST /moto-api/reset): call between tests. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const MISSING = "moto is not installed: `python3 -c 'import moto'` fails. It is part of this machine image (PyPI is not reachable here); install moto 5.x with its server extra";

export function checkMotoInstalled(): void {
  const probe = spawnSync('python3', ['-c', 'import moto'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(`${MISSING} (${probe.error?.message ?? probe.stderr.trim()})`);
}

export async function startMoto(): Promise<Moto> {
  checkMotoInstalled();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log: string[] = [];
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, MOTO_AMIS_PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => {
    log.push(chunk.toString());
    if (log.length > 50) log.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<string>((resolve) => {
    child.once('error', (e) => resolve(`moto_server could not start (${e.message}): ${MISSING}`));
    child.once('exit', (code, signal) => resolve(`moto_server exited (${code ?? signal}) before answering: ${log.join('').slice(-2000)}`));
  });
  const ready = waitForMoto(url);
  const outcome = await Promise.race([ready.then(() => undefined), exited]);
  if (outcome !== undefined) throw new Error(outcome);
  return {
    url,
    reset: async () => {
      const res = await fetch(`${url}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset answered HTTP ${res.status}`);
    },
    stop: () => stopChild(child),
  };
}

async function waitForMoto(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/moto-api/data.json`);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`moto_server at ${url} did not answer within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** moto for the whole file: started in beforeAll, stopped in afterAll. Read `.url` inside tests or hooks. */
export function useMoto(): { readonly url: string; reset(): Promise<void> } {
  let moto: Moto | undefined;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });
  return {
    get url() {
      if (!moto) throw new Error('moto is not started: read useMoto().url inside a test or hook');
      return moto.url;
    },
    reset: () => (moto ? moto.reset() : Promise.resolve()),
  };
}
