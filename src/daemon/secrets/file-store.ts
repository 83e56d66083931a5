/**
 * The embedded daemon's secrets: DSTACK_HOME/server/secrets.json, mode 0600, written whole and atomically
 * (temp file + rename) after every change; a change is answered only once it is on disk. Kept apart from
 * state.json so that state (runs, which only hold `${{ secrets.NAME }}` references) can be read, backed up or
 * attached to a bug report without the values.
 */
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../core/home/atomic-write.js';
import { UserError } from '../../core/errors.js';
import type { SecretMeta, SecretStore } from '../../core/secrets/store.js';

const Entry = z.object({ value: z.string(), createdAt: z.number(), updatedAt: z.number() }).strict();
const SecretsFile = z.object({ version: z.literal(1), projects: z.record(z.string(), z.record(z.string(), Entry)) }).strict();
type SecretsFile = z.infer<typeof SecretsFile>;
type Entry = z.infer<typeof Entry>;

export const secretsFileIn = (serverDir: string): string => join(serverDir, 'secrets.json');

const meta = (name: string, e: Entry): SecretMeta => ({ name, createdAt: e.createdAt, updatedAt: e.updatedAt });

/** Reads and validates the file (none: no secrets); `dstack server migrate` imports what it returns. */
export async function readSecretsFile(file: string): Promise<SecretsFile> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (text === undefined) return { version: 1, projects: {} };
  // Written by an older tool or by hand with a wider mode: secrets are readable by the owner only.
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = SecretsFile.safeParse(json);
  if (parsed.success) return parsed.data;
  // Never the file's content in the message: it is made of secret values.
  const where = parsed.error.issues[0]?.path.join('.');
  throw new UserError('SECRETS_FILE_INVALID', `${file} is not a valid secrets file${json === undefined ? ' (not JSON)' : where ? ` (at ${where})` : ''}`, {
    hint: 'Restore it from a backup, or move it away to start with no secrets (runs that use them will then fail to apply).',
  });
}

class FileSecretStore implements SecretStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private data: SecretsFile,
    private readonly clock: () => number,
  ) {}

  list(project: string): SecretMeta[] {
    return Object.entries(this.data.projects[project] ?? {})
      .map(([name, e]) => meta(name, e))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  values(project: string): ReadonlyMap<string, string> {
    return new Map(Object.entries(this.data.projects[project] ?? {}).map(([name, e]) => [name, e.value]));
  }

  allValues(): string[] {
    return Object.values(this.data.projects).flatMap((p) => Object.values(p).map((e) => e.value));
  }

  set(project: string, name: string, value: string): Promise<{ secret: SecretMeta; created: boolean }> {
    return this.change((data) => {
      const now = this.clock();
      const before = data.projects[project]?.[name];
      const entry: Entry = { value, createdAt: before?.createdAt ?? now, updatedAt: before && before.value === value ? before.updatedAt : now };
      const next = withProject(data, project, { ...data.projects[project], [name]: entry });
      return { next, result: { secret: meta(name, entry), created: before === undefined } };
    });
  }

  delete(project: string, name: string): Promise<SecretMeta | undefined> {
    return this.change((data) => {
      const before = data.projects[project]?.[name];
      if (!before) return { next: data, result: undefined };
      const { [name]: _gone, ...rest } = data.projects[project] ?? {};
      return { next: withProject(data, project, rest), result: meta(name, before) };
    });
  }

  /** One change at a time, each computed on the previous one's outcome; memory follows the disk, never leads it. */
  private change<T>(fn: (data: SecretsFile) => { next: SecretsFile; result: T }): Promise<T> {
    const run = this.queue.then(async () => {
      const { next, result } = fn(this.data);
      if (next !== this.data) {
        await writeFileAtomic(this.file, `${JSON.stringify(next, null, 2)}\n`);
        this.data = next;
      }
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function withProject(data: SecretsFile, project: string, secrets: Record<string, Entry>): SecretsFile {
  return { ...data, projects: { ...data.projects, [project]: secrets } };
}

/** Loads the file (none yet: no secrets) and keeps it in memory for the daemon's life. */
export async function openSecretFile(file: string, clock: () => number = Date.now): Promise<SecretStore> {
  return new FileSecretStore(file, await readSecretsFile(file), clock);
}
