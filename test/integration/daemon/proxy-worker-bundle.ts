/**
 * The proxy worker entry bundled from src/ for tests that run the daemon in-process (vitest's own argv[1] is no
 * CLI entry): `runDaemon({ proxyWorkerArgv: [script] })` spawns `node <script>`, which runs the worker role.
 */
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { ROOT } from './harness.js';

const BANNER = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

export async function buildProxyWorker(dir: string): Promise<string> {
  const outfile = join(dir, 'proxy-worker.mjs');
  await esbuild.build({
    stdin: { contents: "import { runProxyWorker } from './src/proxy/workers/main.ts'; runProxyWorker();", resolveDir: ROOT, loader: 'ts' },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    banner: { js: BANNER },
    logLevel: 'error',
  });
  return outfile;
}
