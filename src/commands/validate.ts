import { Flags } from '@oclif/core';
import { BaseCommand, EXIT_ERROR } from './base.js';
import { refuseStdinTwice } from './config-input.js';
import { loadAll, validateOutput } from './validate-direct.js';

/** `dstack validate -f FILE...`: parse configurations and print their normalized form. No ink/react; src/main.ts answers plain command lines without oclif (validate-direct.ts). */
export default class Validate extends BaseCommand {
  static override summary = 'Validate configuration files and print their normalized form';
  static override description =
    'Checks dstack service and fleet configurations (and SkyServe service YAMLs) without contacting the server. ' +
    'Prints the normalized configuration: durations in seconds, sizes in bytes, ranges as {min, max}, defaults filled in. ' +
    'Every problem is reported at once on stderr as `file:line:col key: message`.';

  static override examples = [
    '<%= config.bin %> validate -f service.dstack.yml',
    '<%= config.bin %> validate -f service.dstack.yml -f fleet.dstack.yml --json',
  ];

  static override flags = {
    file: Flags.string({ char: 'f', summary: 'Configuration file to validate (repeatable); - reads one from standard input.', required: true, multiple: true }),
    json: Flags.boolean({ summary: 'Print {"configs": [{path, kind, config}]} as JSON.', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Validate);
    refuseStdinTwice(flags.file);
    const out = validateOutput(await loadAll(flags.file, this.io), flags.json);
    if (out.json !== undefined) this.printJson(out.json);
    if (out.text !== undefined) this.print(out.text);
    if (out.problems !== undefined) this.io.stderr.write(out.problems);
    if (out.failed) return this.exit(EXIT_ERROR);
  }
}
