/** `dstack secret delete NAME`: asks first (dstack's "Delete the secret NAME?"); `-y` skips the question. */
import { Args, Flags } from '@oclif/core';
import { connectDaemon } from '../core/client/index.js';
import { UserError } from '../core/errors.js';
import { BaseCommand, projectFlag } from './base.js';

export default class SecretDelete extends BaseCommand {
  static override summary = 'Delete a secret.';
  static override description = 'Running replicas keep the value they started with; replicas that start later and reference it fail, naming it.';
  static override examples = ['dstack secret delete hf_token', 'dstack secret delete hf_token -y'];
  static override args = { name: Args.string({ required: true, description: 'The secret name.' }) };
  static override flags = { project: projectFlag, yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation.' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SecretDelete);
    const client = await connectDaemon({ env: this.io.env });
    try {
      // A wrong name fails before anything is asked.
      if (!(await client.listSecrets()).some((s) => s.name === args.name)) {
        throw new UserError('SECRET_NOT_FOUND', `Secret ${args.name} not found`, { hint: 'See `dstack secret list`.' });
      }
      if (!flags.yes && !(await this.confirmOrFail(`Delete the secret ${args.name}?`))) return this.note('Exiting...');
      await client.deleteSecret(args.name);
      this.print('OK');
    } finally {
      await client.close();
    }
  }
}
