import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** dist/agent.js when it is at least as new as src/agent; else a fresh esbuild bundle of src/agent/main.ts. */
export async function agentBundle(): Promise<string> {
  const dist = path.join(ROOT, 'dist/agent.js');
  if (existsSync(dist) && statSync(dist).mtimeMs >= newestMtime(path.join(ROOT, 'src/agent'))) return dist;
  const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'agent-bundle-')), 'agent.mjs');
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'src/agent/main.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: ['cpu-features', '*.node'],
    // CJS dependencies (dockerode → ssh2) use require/__dirname, which an ESM bundle lacks (node-packages.md §2).
    banner: {
      js: [
        "import { createRequire as __cr } from 'node:module';",
        "import { fileURLToPath as __toPath } from 'node:url';",
        "import { dirname as __dn } from 'node:path';",
        'const require = __cr(import.meta.url);',
        'const __filename = __toPath(import.meta.url);',
        'const __dirname = __dn(__filename);',
      ].join('\n'),
    },
    define: { __DSTACK_VERSION__: JSON.stringify('0.1.0') },
    logLevel: 'error',
  });
  return out;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface AgentChild {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Runs the bundled agent as a real process, token in a file (never on argv), and waits for its health check. */
export async function spawnAgent(bundle: string, args: { home: string; token: string; port: number; extra: string[] }): Promise<AgentChild> {
  const tokenFile = path.join(args.home, 'token');
  await writeFile(tokenFile, `${args.token}\n`, { mode: 0o600 });
  const child = spawn(process.execPath, [bundle, 'start', '--home', args.home, '--token-file', tokenFile, '--port', String(args.port), ...args.extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${args.port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}: ${out}`);
    const ok = await fetch(`${url}/api/health`, { headers: { authorization: `Bearer ${args.token}` } }).then((r) => r.ok, () => false);
    if (ok) return { child, url, output: () => out };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`agent did not answer its health check: ${out}`);
}

export async function killAgent(agent: AgentChild, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (agent.child.exitCode !== null || agent.child.signalCode !== null) return;
  const exited = new Promise((r) => agent.child.once('exit', r));
  agent.child.kill(signal);
  await exited;
}
