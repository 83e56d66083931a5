/**
 * The `dstack-agent` single binary that SSH provisioning installs on hosts (scripts/build-sea.mjs makes it): the
 * explicit option, else DSTACK_AGENT_BINARY, else the one beside the `dstack` SEA binary, else dist/bin of the
 * bundle or checkout. A JS bundle cannot be installed (hosts have no node), so only the binary qualifies.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InternalError } from '../../core/errors.js';

export interface AgentBinary {
  path: string;
  sha256: string;
  size: number;
}

async function isSea(): Promise<boolean> {
  return import('node:sea').then((m: { isSea?: () => boolean }) => m.isSea?.() ?? false).catch(() => false);
}

function bundleCandidates(): string[] {
  const dirs: string[] = [];
  if (process.argv[1]) dirs.push(dirname(resolve(process.argv[1])));
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    // dist/main.js, dist/chunks/*.js, or src/backends/ssh/*.ts in a checkout.
    dirs.push(here, join(here, '..'), join(here, '../../../dist'));
  } catch {
    // import.meta.url is not a file URL inside the single-binary loader; the SEA case is handled before.
  }
  return dirs.map((d) => join(d, 'bin', 'dstack-agent'));
}

/** Where the agent binary is, or an InternalError naming the path looked at and how to build it. */
export async function findAgentBinary(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const chosen = explicit ?? (env.DSTACK_AGENT_BINARY || undefined);
  if (chosen !== undefined) {
    if (existsSync(chosen)) return chosen;
    throw new InternalError('AGENT_BINARY_MISSING', `the dstack-agent binary ${chosen} does not exist`, {
      hint: 'Run `npm run build:binary`, or point DSTACK_AGENT_BINARY at a built dstack-agent.',
    });
  }
  const candidates = (await isSea()) ? [join(dirname(process.execPath), 'dstack-agent')] : bundleCandidates();
  const found = candidates.find((c) => existsSync(c));
  if (found) return found;
  throw new InternalError('AGENT_BINARY_MISSING', `cannot find the dstack-agent binary to install on SSH hosts (looked at ${candidates.join(', ')})`, {
    hint: 'Run `npm run build:binary` (it writes dist/bin/dstack-agent), or set DSTACK_AGENT_BINARY.',
  });
}

/** Hash of the binary, computed once per path, size and mtime (hashing ~90 MB takes a noticeable moment). */
export class AgentBinaryCache {
  private cached: { key: string; value: Promise<AgentBinary> } | undefined;

  async get(path: string): Promise<AgentBinary> {
    const st = await stat(path);
    const key = `${path}:${st.size}:${st.mtimeMs}`;
    if (this.cached?.key !== key) this.cached = { key, value: hashFile(path).then((sha256) => ({ path, sha256, size: st.size })) };
    return this.cached.value;
  }
}

function hashFile(path: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .once('error', reject)
      .once('end', () => resolveHash(h.digest('hex')));
  });
}
