/**
 * `dstack project add --name N --url URL --token T [-y]`, as in dstack: a project on another dstack server. The
 * URL and token are checked first (`GET /api/me`, then project N there with this user a member), so a typo fails
 * here rather than at the next command.
 */
import { Flags } from '@oclif/core';
import { checkRemoteProject } from '../core/client/remote.js';
import { UserError } from '../core/errors.js';
import { loadOrCreateHomeConfig } from '../core/home/config-file.js';
import { resolveHome } from '../core/home/paths.js';
import { projectEntry, putRemoteProject } from '../core/home/project-entries.js';
import { BaseCommand } from './base.js';

export default class ProjectAdd extends BaseCommand {
  static override summary = 'Add a project of another dstack server to config.yml.';
  static override description =
    'Commands reach it with `--project NAME` (or DSTACK_PROJECT, or `dstack project set-default NAME`). HTTPS servers are checked ' +
    'against the system CAs; a private CA goes in NODE_EXTRA_CA_CERTS.';
  static override examples = ['dstack project add --name team --url https://dstack.example.com --token $TOKEN'];
  static override flags = {
    name: Flags.string({ required: true, description: 'The project name on that server.' }),
    url: Flags.string({ required: true, description: 'The server URL, e.g. https://dstack.example.com:3000.' }),
    token: Flags.string({ required: true, description: 'Your token on that server (`dstack user create` printed it).' }),
    yes: Flags.boolean({ char: 'y', description: 'Replace an entry of that name without asking.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ProjectAdd);
    const url = serverUrl(flags.url);
    const file = resolveHome(this.io.env).configFile;
    const existing = projectEntry(await loadOrCreateHomeConfig(file), flags.name);
    if (existing && existing.url === undefined) {
      throw new UserError('PROJECT_IS_LOCAL', `Project ${flags.name} is a project of the local server`, { hint: 'Give the remote project another name with --name.' });
    }
    const { user } = await checkRemoteProject({ project: flags.name, url, token: flags.token });
    if (existing && !flags.yes && !(await this.confirmOrFail(`Replace project ${flags.name} (${existing.url})?`))) return this.note('Nothing changed.');
    await putRemoteProject(file, { name: flags.name, url, token: flags.token, user });
    this.note(`Project ${flags.name} added: ${url} as ${user}. Use it with --project ${flags.name} or \`dstack project set-default ${flags.name}\`.`);
    this.print('OK');
  }
}

function serverUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UserError('INVALID_URL', `--url ${raw} is not a URL`, { hint: 'e.g. --url https://dstack.example.com' });
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new UserError('INVALID_URL', `--url ${raw}: expected http:// or https://`);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}
