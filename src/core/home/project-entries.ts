/**
 * Changes to config.yml's projects from the CLI (`dstack project add`, `set-default`): read, changed as a plain
 * document (keys this version does not know are kept), checked against the schema, and written atomically with
 * mode 0600 (it holds tokens).
 */
import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { UserError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { HomeConfig, loadOrCreateHomeConfig, type ProjectEntry } from './config-file.js';

type Doc = Record<string, unknown> & { projects: Record<string, unknown>[] };

async function change(file: string, fn: (doc: Doc, config: HomeConfig) => void): Promise<HomeConfig> {
  const config = await loadOrCreateHomeConfig(file);
  const doc = parse(await readFile(file, 'utf8')) as Doc;
  fn(doc, config);
  const checked = HomeConfig.safeParse(doc);
  if (!checked.success) {
    const first = checked.error.issues[0];
    throw new UserError('HOME_CONFIG_INVALID', `The change would make ${file} invalid: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`);
  }
  await writeFileAtomic(file, stringify(doc));
  return checked.data;
}

/** The entry that `name` has now (undefined: none). */
export function projectEntry(config: HomeConfig, name: string): ProjectEntry | undefined {
  return config.projects.find((p) => p.name === name);
}

/** Adds or replaces the entry of a project on another server; a local daemon's project is never replaced. */
export function putRemoteProject(file: string, entry: { name: string; url: string; token: string; user: string }): Promise<HomeConfig> {
  return change(file, (doc, config) => {
    const existing = projectEntry(config, entry.name);
    if (existing && existing.url === undefined) {
      throw new UserError('PROJECT_IS_LOCAL', `Project ${entry.name} is a project of the local server; it cannot be replaced by a remote one`, {
        hint: 'Add the remote project under another name: --name.',
      });
    }
    const next = { name: entry.name, url: entry.url, token: entry.token, user: entry.user };
    const at = doc.projects.findIndex((p) => p.name === entry.name);
    if (at >= 0) doc.projects[at] = next;
    else doc.projects.push(next);
  });
}

/** `default_project`: the project commands use without --project or DSTACK_PROJECT. */
export function setDefaultProject(file: string, name: string): Promise<HomeConfig> {
  return change(file, (doc, config) => {
    if (!projectEntry(config, name)) {
      throw new UserError('PROJECT_NOT_CONFIGURED', `No project ${name} in ${file}`, { hint: 'See `dstack project list`; add a remote one with `dstack project add`.' });
    }
    doc.default_project = name;
  });
}
