/**
 * `dstack secret get NAME`: the one command that shows a secret's value, as dstack's does (a NAME/VALUE table);
 * `--json` prints {name, value, createdAt, updatedAt}.
 */
import { Args, Flags } from '@oclif/core';
import { connectDaemon } from '../core/client/index.js';
import { renderTable } from '../ui/table.js';
import { BaseCommand, projectFlag } from './base.js';

export default class SecretGet extends BaseCommand {
  static override summary = 'Show the value of a secret.';
  static override description = 'Prints the value on standard output; `dstack secret list` shows names only.';
  static override examples = ['dstack secret get hf_token', 'dstack secret get hf_token --json'];
  static override args = { name: Args.string({ required: true, description: 'The secret name.' }) };
  static override flags = { project: projectFlag, json: Flags.boolean({ description: 'Print {name, value, createdAt, updatedAt} as JSON.' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SecretGet);
    const client = await connectDaemon({ env: this.io.env });
    try {
      const secret = await client.getSecret(args.name);
      if (flags.json) return this.printJson(secret);
      this.print(renderTable([{ header: 'NAME', shrink: 0 }, { header: 'VALUE', shrink: 0 }], [{ cells: [secret.name, secret.value] }]));
    } finally {
      await client.close();
    }
  }
}
