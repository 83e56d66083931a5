/** `dstack user delete NAME`: asks first; `-y` skips the question. The user leaves every project too. */
import { Args, Flags } from '@oclif/core';
import { connectDaemon } from '../core/client/index.js';
import { UserError } from '../core/errors.js';
import { BaseCommand, projectFlag } from './base.js';

export default class UserDelete extends BaseCommand {
  static override summary = 'Delete a user (global admins only).';
  static override description = 'Its token stops working at once, and it is taken out of every project. A user cannot delete itself, nor the last admin of a project.';
  static override examples = ['dstack user delete alice', 'dstack user delete alice -y'];
  static override args = { name: Args.string({ required: true, description: 'The user name.' }) };
  static override flags = { project: projectFlag, yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation.' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(UserDelete);
    const client = await connectDaemon({ env: this.io.env });
    try {
      // A wrong name (or a caller who may not manage users) fails before anything is asked.
      if (!(await client.listUsers()).some((u) => u.name === args.name)) {
        throw new UserError('USER_NOT_FOUND', `User ${args.name} not found`, { hint: 'See `dstack user list`.' });
      }
      if (!flags.yes && !(await this.confirmOrFail(`Delete the user ${args.name}?`))) return this.note('Exiting...');
      await client.deleteUser(args.name);
      this.print('OK');
    } finally {
      await client.close();
    }
  }
}
