/** Names of users and projects: the rule config.yml already applies to its projects (core/home/config-file.ts). */
import { UserError } from '../errors.js';

export const ACCOUNT_NAME = /^[a-z0-9][a-z0-9-_]{0,49}$/;

export function checkAccountName(kind: 'user' | 'project', name: unknown): string {
  if (typeof name === 'string' && ACCOUNT_NAME.test(name)) return name;
  const shown = typeof name === 'string' ? JSON.stringify(name) : 'missing';
  throw new UserError(kind === 'user' ? 'INVALID_USER_NAME' : 'INVALID_PROJECT_NAME', `${kind} name ${shown} is not valid`, {
    hint: 'Use 1 to 50 lower-case letters, digits, `-` and `_`, starting with a letter or a digit.',
  });
}
