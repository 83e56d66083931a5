/**
 * DSTACK_HOME/config.yml: projects, tokens, the default project. Created on first use with project `main`
 * and one admin user whose token is both the control-API token and a project token for the proxy.
 * Written atomically with mode 0600; tokens never appear in errors.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { UserError } from '../errors.js';

export const ProjectEntry = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-_]{0,49}$/),
  /** Tokens of the project's members: any of them authenticates proxy requests to the project's services. */
  tokens: z.array(z.string().min(16)),
});

export const HomeConfig = z.object({
  version: z.literal(1),
  default_project: z.string(),
  user: z.string(),
  /** Admin token: authenticates the CLI to the daemon's control API, and is a member token of every project. */
  token: z.string().min(16),
  server: z.object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(1).max(65535).default(3000) }).default({ host: '127.0.0.1', port: 3000 }),
  projects: z.array(ProjectEntry).min(1),
});
export type HomeConfig = z.infer<typeof HomeConfig>;

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function defaultHomeConfig(user = process.env.USER ?? 'admin'): HomeConfig {
  return {
    version: 1,
    default_project: 'main',
    user,
    token: newToken(),
    server: { host: '127.0.0.1', port: 3000 },
    projects: [{ name: 'main', tokens: [] }],
  };
}

/** Reads config.yml, creating it (0600) on first use. */
export async function loadOrCreateHomeConfig(file: string): Promise<HomeConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const fresh = defaultHomeConfig();
    await writeFileAtomic(file, stringify(fresh));
    return fresh;
  }
  const parsed = HomeConfig.safeParse(parse(text));
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new UserError('HOME_CONFIG_INVALID', `${file}: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`, {
      hint: `Fix or delete ${file} (a new one with a new token is created on the next command).`,
    });
  }
  return parsed.data;
}

/** Atomic write with fsync: temp file in the same folder, then rename (DESIGN.md §3). Mode 0600. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode: 0o600 });
  const fh = await open(tmp, 'r');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  try {
    const dir = await open(dirname(file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}
