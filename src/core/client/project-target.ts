/**
 * Which server a command talks to (issue 17, remote CLI as in dstack): `--project`/DSTACK_PROJECT, else config.yml's
 * `default_project`. A config.yml entry with `url` is a project on another server, reached with its own token under
 * `/api/projects/<name>/`; any other name is a project of the local daemon, whose default project keeps the
 * unprefixed routes (so a plain local home talks exactly as before).
 */
import { UserError } from '../errors.js';
import { localServerConfig, type HomeConfig } from '../home/config-file.js';

export type ProjectTarget =
  | { kind: 'remote'; project: string; url: string; token: string }
  /** `project` absent: the local daemon's default project. */
  | { kind: 'local'; project?: string };

export function projectTarget(config: HomeConfig, requested: string | undefined): ProjectTarget {
  const name = requested || config.default_project;
  const entry = config.projects.find((p) => p.name === name);
  if (entry?.url !== undefined) {
    if (!entry.token) {
      throw new UserError('PROJECT_TOKEN_MISSING', `Project ${name} names the server ${entry.url} but no token`, {
        hint: `Add it again with \`dstack project add --name ${name} --url ${entry.url} --token TOKEN -y\`.`,
      });
    }
    return { kind: 'remote', project: name, url: entry.url.replace(/\/+$/, ''), token: entry.token };
  }
  return name === localServerConfig(config).default_project ? { kind: 'local' } : { kind: 'local', project: name };
}
