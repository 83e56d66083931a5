/**
 * DSTACK_HOME/config.yml: projects, tokens, the default project. Created on first use with project `main`
 * and one admin user whose token is both the control-API token and a project token for the proxy.
 * Created exclusively with mode 0600; tokens never appear in errors.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { createFileExclusive, writeFileAtomic } from './atomic-write.js';
import { BackendConfig } from './backends-config.js';

export const ProjectEntry = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-_]{0,49}$/),
  /** Tokens of the project's members: any of them authenticates proxy requests to the project's services. */
  tokens: z.array(z.string().min(16)).default([]),
  /** Cloud backends (backends-config.ts); none = the local machine and SSH fleets only. */
  backends: z.array(BackendConfig).default([]),
  /** A project on another dstack server (`dstack project add`): its URL; absent = a project of the local daemon. */
  url: z.string().url().optional(),
  /** The user's token on that server (with `url`). */
  token: z.string().min(1).optional(),
  /** Whose token it is, as the server answered `GET /api/me` when the project was added (shown by `project list`). */
  user: z.string().optional(),
});
export type ProjectEntry = z.infer<typeof ProjectEntry>;

const ProxyWorkers = z.union([z.number().int().min(1).max(256), z.literal('auto')]);

/**
 * How many proxy workers to run: env DSTACK_PROXY_WORKERS (a number or `auto`), then config.yml's
 * `server.proxy_workers`, then 1. `auto` is the number of cores; an unparsable env value is an error.
 */
export function proxyWorkerCount(envValue: string | undefined, configured: number | 'auto' | undefined, cores: number): number {
  const raw = envValue !== undefined && envValue !== '' ? (envValue === 'auto' ? 'auto' : Number(envValue)) : configured;
  if (raw === undefined) return 1;
  const parsed = ProxyWorkers.safeParse(raw);
  if (!parsed.success) {
    throw new UserError('PROXY_WORKERS_INVALID', `DSTACK_PROXY_WORKERS=${envValue}: expected a whole number from 1 to 256, or auto`);
  }
  return parsed.data === 'auto' ? Math.max(1, cores) : parsed.data;
}

export const HomeConfig = z.object({
  version: z.literal(1),
  default_project: z.string(),
  user: z.string(),
  /** Admin token: authenticates the CLI to the daemon's control API, and is a member token of every project. */
  token: z.string().min(16),
  server: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(1).max(65535).default(3000),
      /** Processes serving the data plane on the shared port (default 1: in the daemon itself); `auto` = cores. */
      proxy_workers: ProxyWorkers.optional(),
      /** PostgreSQL for state (`postgres://…`); env DSTACK_DATABASE_URL wins. None: server/state.json. */
      database: z.string().optional(),
      /** PEM certificate (chain) to serve HTTPS with; needs `tls_key`. Relative paths are from DSTACK_HOME. */
      tls_cert: z.string().optional(),
      /** PEM private key of `tls_cert`. */
      tls_key: z.string().optional(),
      /** Allow plain HTTP on a non-loopback `host` (tokens then cross the network in the clear). */
      insecure_http: z.boolean().optional(),
      /** Where the other servers of a shared database reach this one (`https://host:port`); default host:port. */
      advertise_url: z.string().url().optional(),
    })
    .default({ host: '127.0.0.1', port: 3000 }),
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
    projects: [{ name: 'main', tokens: [], backends: [] }],
  };
}

/**
 * What the local daemon serves: config.yml without the projects of other servers (entries with `url`). When
 * `default_project` names one of those (the CLI's default after `dstack project set-default`), the daemon's
 * default is its first own project, so its unprefixed routes keep a project to go to.
 */
export function localServerConfig(config: HomeConfig): HomeConfig {
  const own = config.projects.filter((p) => p.url === undefined);
  const projects = own.length > 0 ? own : [{ name: 'main', tokens: [], backends: [] }];
  const remoteDefault = config.projects.some((p) => p.url !== undefined && p.name === config.default_project);
  const defaultProject = remoteDefault ? projects[0]!.name : config.default_project;
  return { ...config, default_project: defaultProject, projects };
}

/**
 * Reads config.yml, creating it (0600) on first use. Many first-run processes may get here at once (CLIs started
 * together, and the daemon one of them spawns): exactly one creates the file, and every one of them then reads
 * that file, so all agree on the admin token.
 */
export async function loadOrCreateHomeConfig(file: string, opts: { cache?: boolean } = {}): Promise<HomeConfig> {
  const parsed = HomeConfig.safeParse(await readHomeDocument(file, opts.cache ?? false));
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new UserError('HOME_CONFIG_INVALID', `${file}: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`, {
      hint: `Fix or delete ${file} (a new one with a new token is created on the next command).`,
    });
  }
  return parsed.data;
}

/**
 * Beside config.yml, with `cache` (connect.ts, the CLI's path to the daemon): its parsed document as JSON, keyed by a
 * hash of the file's text, so `dstack ps` reads two small files but neither loads nor runs the YAML parser (issue 15).
 * Without it nothing is written beside config.yml (the daemon, `dstack project`). Keyed by
 * content, not by size and mtime: a file rewritten twice within one timestamp tick cannot match a stale entry.
 * It holds the tokens config.yml holds, with the same mode 0600 in the same folder.
 */
export function homeConfigCacheFile(file: string): string {
  return join(dirname(file), `.${basename(file)}.json`);
}

/** config.yml's document (before the schema), from the cache when it was made from this very text. */
async function readHomeDocument(file: string, cache: boolean): Promise<unknown> {
  const text = (await readIfExists(file)) ?? (await createThenRead(file));
  const cacheFile = homeConfigCacheFile(file);
  const key = createHash('sha256').update(text).digest('hex');
  const hit = cache ? await readCache(cacheFile, key) : undefined;
  if (hit) return hit.doc;
  const { parse } = await loadYaml();
  const doc: unknown = parse(text);
  if (cache && survivesJson(doc)) {
    // A cache that cannot be written (read-only home, full disk) only costs the next command a parse.
    await writeFileAtomic(cacheFile, JSON.stringify({ key, doc })).catch(() => undefined);
  }
  return doc;
}

/** The cached document when the cache is readable, well-formed and for this key; anything else is a miss. */
async function readCache(cacheFile: string, key: string): Promise<{ doc: unknown } | undefined> {
  try {
    const entry = JSON.parse(await readFile(cacheFile, 'utf8')) as unknown;
    if (typeof entry === 'object' && entry !== null && 'key' in entry && entry.key === key && 'doc' in entry) return { doc: entry.doc };
  } catch {
    // Absent, unreadable or corrupt: parse config.yml instead.
  }
  return undefined;
}

/** YAML values JSON would change (`.inf`, `.nan`) are left to the parser each time, so the schema sees the same. */
function survivesJson(doc: unknown): boolean {
  if (typeof doc === 'number') return Number.isFinite(doc);
  if (Array.isArray(doc)) return doc.every(survivesJson);
  if (typeof doc === 'object' && doc !== null) return Object.getPrototypeOf(doc) === Object.prototype && Object.values(doc).every(survivesJson);
  return doc === null || typeof doc === 'string' || typeof doc === 'boolean';
}

async function createThenRead(file: string): Promise<string> {
  const { stringify } = await loadYaml();
  await createFileExclusive(file, stringify(defaultHomeConfig()));
  const text = await readIfExists(file);
  if (text === undefined) throw new UserError('HOME_CONFIG_UNREADABLE', `${file} vanished right after it was created`, { hint: 'Is something else deleting DSTACK_HOME?' });
  return text;
}

/** A bundled import() of this CJS package yields {default: module.exports} (reference/node-packages.md §2). */
async function loadYaml(): Promise<typeof import('yaml')> {
  const yaml: typeof import('yaml') & { default?: typeof import('yaml') } = await import('yaml');
  return yaml.default ?? yaml;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
