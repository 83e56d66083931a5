/**
 * `dstack user create NAME [--role admin|user]`: prints the new user's token on stdout, this once only: the
 * server stores its sha256 and can never show it again (a lost token means deleting and re-creating the user).
 */
import { Args, Flags } from '@oclif/core';
import { checkAccountName } from '../core/auth/names.js';
import { connectDaemon } from '../core/client/index.js';
import { BaseCommand, projectFlag } from './base.js';

export default class UserCreate extends BaseCommand {
  static override summary = 'Create a user and print its token (shown this once only).';
  static override description =
    'The token is printed on standard output and never again: the server keeps only its hash. A global admin manages users and is ' +
    'admin of every project; a user sees only the projects it is a member of (`dstack project member add`).';
  static override examples = ['dstack user create alice', 'dstack user create bob --role admin', 'TOKEN=$(dstack user create ci)'];
  static override args = { name: Args.string({ required: true, description: 'The user name: lower-case letters, digits, `-` and `_`.' }) };
  static override flags = {
    project: projectFlag,
    role: Flags.string({ description: 'The global role.', options: ['admin', 'user'], default: 'user' }),
    json: Flags.boolean({ description: 'Print {user: {name, globalRole, createdAt}, token} as JSON.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(UserCreate);
    checkAccountName('user', args.name);
    const client = await connectDaemon({ env: this.io.env });
    try {
      const created = await client.createUser(args.name, flags.role === 'admin' ? 'admin' : 'user');
      if (flags.json) return this.printJson(created);
      this.note(`User ${created.user.name} created (role ${created.user.globalRole}). Its token follows; it is shown this once only, so store it now.`);
      this.print(created.token);
    } finally {
      await client.close();
    }
  }
}
