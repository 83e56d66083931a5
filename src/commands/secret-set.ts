/**
 * `dstack secret set NAME [VALUE]`: creates or replaces a project secret. The value comes from the argument, a file
 * (`-f`), or standard input (piped, or typed at a prompt that does not echo); it is never printed back.
 */
import { Args, Errors, Flags } from '@oclif/core';
import { connectDaemon } from '../core/client/index.js';
import { UserError } from '../core/errors.js';
import { isReferenceName } from '../core/secrets/interpolate.js';
import { checkSecretName, checkSecretValue } from '../core/secrets/names.js';
import { BaseCommand, projectFlag } from './base.js';
import { readSecretFile, readSecretStdin } from './secret-input.js';

export default class SecretSet extends BaseCommand {
  static override summary = 'Create or update a secret.';
  static override description =
    'Without VALUE and -f, the value is read from standard input: piped, or typed at a prompt that does not show it (a VALUE argument ' +
    'stays in your shell history). One trailing newline of a file or a pipe is dropped. Runs use it as `${{ secrets.NAME }}`; replicas ' +
    'that start after a change get the new value (`dstack apply --force` replaces running ones).';
  static override examples = ['dstack secret set hf_token', 'echo "$HF_TOKEN" | dstack secret set hf_token', 'dstack secret set ngc_api_key -f ~/.ngc-key'];
  static override args = {
    name: Args.string({ required: true, description: 'The secret name: letters, digits, `-` and `_` (references need a letter or `_` first and no `-`).' }),
    value: Args.string({ description: 'The value (better: -f FILE or standard input).' }),
  };
  static override flags = {
    project: projectFlag,
    file: Flags.string({ char: 'f', description: 'Read the value from this file.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SecretSet).catch((e: unknown) => {
      // oclif's "Unexpected argument: …" would print what is most likely the rest of an unquoted value.
      if (e instanceof Errors.CLIError && Array.isArray((e as { args?: unknown }).args)) {
        throw new UserError('SECRET_VALUE_SPLIT', 'more than one value was given', { hint: 'Quote a value that has spaces, or pass it with -f FILE or on standard input.' });
      }
      throw e;
    });
    checkSecretName(args.name);
    if (args.value !== undefined && flags.file !== undefined) {
      throw new UserError('SECRET_VALUE_TWICE', 'give the value either as an argument or with -f, not both');
    }
    const value = args.value ?? (flags.file !== undefined ? await readSecretFile(flags.file) : await readSecretStdin(this.io, args.name));
    checkSecretValue(value);
    const client = await connectDaemon({ env: this.io.env });
    try {
      const result = await client.setSecret(args.name, value);
      this.note(`Secret ${result.name} ${result.created ? 'created' : 'updated'}`);
      if (!isReferenceName(`secrets.${result.name}`)) this.note(`Note: \`\${{ secrets.${result.name} }}\` is not a valid reference (a name used in a run needs a letter or \`_\` first and no \`-\`)`);
      this.print('OK');
    } finally {
      await client.close();
    }
  }
}
