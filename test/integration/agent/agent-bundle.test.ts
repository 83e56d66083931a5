/**
 * dist/agent.js as scripts/build.mjs makes it (issue 15): the replica spec schemas and the agent itself sit in
 * modules the entry import()s, which agent-trim.mjs inlines as CommonJS. These check that such a bundle answers
 * --version and --help, reports its commands' AgentErrors with their code, and validates a spec only once one
 * arrives (a 400 that names the field, then a replica that runs) — with the process runtime, so no Docker needed.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build as esbuild, type Plugin } from 'esbuild';
import { freePort, killAgent, spawnAgent, type AgentChild } from './agent-process.js';

const run = promisify(execFile);
let dir: string;
let bundle: string;
const children: AgentChild[] = [];

let ROOT: string;

beforeAll(async () => {
  // @ts-expect-error: plain .mjs build script without types
  const built = (await import('../../../scripts/build.mjs')) as { BANNER: string; ROOT: string };
  // @ts-expect-error: plain .mjs build script without types
  const trim = (await import('../../../scripts/agent-trim.mjs')) as { agentTrimPlugin: () => Plugin; agentLazyUnitsPlugin: () => Plugin };
  ROOT = built.ROOT;
  dir = await mkdtemp(path.join(os.tmpdir(), 'agent-bundle-'));
  bundle = path.join(dir, 'agent.mjs');
  await esbuild({
    absWorkingDir: ROOT,
    entryPoints: [path.join(ROOT, 'src/agent/main.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    banner: { js: built.BANNER },
    external: ['cpu-features', '*.node', 'typescript'],
    mainFields: ['module', 'main'],
    define: { __DSTACK_VERSION__: '"0.1.0"' },
    plugins: [trim.agentTrimPlugin(), trim.agentLazyUnitsPlugin()],
    logLevel: 'error',
  });
});
afterAll(async () => {
  for (const c of children) await killAgent(c);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the agent bundle with lazily loaded units', () => {
  it('keeps zod and the agent out of the entry module: both are CommonJS units in the one file', async () => {
    const text = await readFile(bundle, 'utf8');
    // esbuild's wrapper of a CommonJS module, keyed by the unit (inside the commands unit, its names get a suffix).
    expect(text).toMatch(/__commonJS\(\{\s*"agent-lazy-unit:src\/agent\/commands\.ts"\(exports, module\) \{/);
    expect(text).toMatch(/__commonJS\d*\(\{\s*"agent-lazy-unit:src\/core\/model\/agent-api\.ts"\(exports\d*, module\d*\) \{/);
    expect(text).not.toContain(ROOT);
  });

  it('answers --version and --help', async () => {
    expect((await run(process.execPath, [bundle, '--version'])).stdout).toBe('dstack-agent 0.1.0\n');
    expect((await run(process.execPath, [bundle, '--help'])).stdout).toMatch(/^Usage: dstack-agent/);
  });

  it('reports an AgentError of a command with its code', async () => {
    const failed = await run(process.execPath, [bundle, 'start', '--home', dir, '--token-file', path.join(dir, 'missing')]).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringMatching(/^dstack-agent: NO_TOKEN: cannot read the token file/) });
  });

  it('validates the first spec it is sent, naming the bad field, and runs a valid one', async () => {
    const token = `tok-${randomUUID()}`;
    await mkdir(path.join(dir, 'home'));
    const agent = await spawnAgent(bundle, { home: path.join(dir, 'home'), token, port: await freePort(), extra: ['--runtime', 'process'] });
    children.push(agent);
    const post = (body: unknown) =>
      fetch(`${agent.url}/api/replicas`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await post({ id: 'r-1', runName: 'bundle', replicaNum: 0, commands: ['sleep 30'], port: 0 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'INVALID_SPEC', message: expect.stringContaining('port') });
    const good = await post({ id: 'r-1', runName: 'bundle', replicaNum: 0, commands: ['sleep 30'], port: 8080, stopTimeoutSeconds: 0 });
    expect(good.status).toBe(201);
    expect(await good.json()).toMatchObject({ id: 'r-1', runtime: 'process', phase: 'pending' });
    const stopped = await fetch(`${agent.url}/api/replicas/r-1?timeout=0`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    expect(stopped.status).toBe(200);
  });
});
