import { Args, Flags } from '@oclif/core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Apply from './apply.js';

/**
 * `dstack run . -f FILE`: the older form that the seed documents still show. It runs `dstack apply` and says so,
 * so old instructions keep working while users learn the new command.
 */
export default class Run extends Apply {
  static override summary = 'The older form of `dstack apply` (`dstack run . -f FILE`).';
  static override description = 'Kept so that older instructions work: it does exactly what `dstack apply -f FILE` does.';
  static override examples = ['dstack run . -f service.dstack.yml'];
  static override args = { dir: Args.string({ description: 'The working directory of the configuration (default .).' }) };
  static override flags = { ...Apply.flags, file: Flags.string({ char: 'f', description: 'The configuration file, or - for standard input (default: DIR/.dstack.yml).' }) };

  override async run(): Promise<void> {
    const { args, flags } = await this.parse(Run);
    this.note('`dstack run` is the older form of `dstack apply`; running `dstack apply` with the same flags.');
    if (flags.file === undefined && args.dir !== undefined) {
      const file = ['.dstack.yml', '.dstack.yaml'].map((f) => join(args.dir!, f)).find((f) => existsSync(f));
      if (file) this.argv.push('-f', file);
    }
    // Apply parses `this.argv` again with Run's flags and args, so the positional DIR is accepted there too.
    await super.run();
  }
}
