import { Flags } from '@oclif/core';
import { stringify } from 'yaml';
import { loadConfigFile, type LoadedConfig } from '../core/config/load.js';
import { isDstackError } from '../core/errors.js';
import { BaseCommand, EXIT_ERROR } from './base.js';

/** `dstack validate -f FILE...`: parse configurations and print their normalized form. No ink/react (fast path). */
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
    file: Flags.string({ char: 'f', summary: 'Configuration file to validate (repeatable).', required: true, multiple: true }),
    json: Flags.boolean({ summary: 'Print {"configs": [{path, kind, config}]} as JSON.', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Validate);
    const loaded: LoadedConfig[] = [];
    const failures: string[] = [];
    for (const file of flags.file) {
      // Collect user errors of every file, so one run reports all of them; anything else is a bug for catch().
      await loadConfigFile(file).then((c) => loaded.push(c), (e: unknown) => {
        if (!isDstackError(e) || !e.userFacing) throw e;
        failures.push(e.message);
      });
    }
    if (failures.length > 0) {
      this.io.stderr.write(`${failures.join('\n')}\n`);
      return this.exit(EXIT_ERROR);
    }
    const configs = loaded.map(({ path, kind, config }) => ({ path, kind, config }));
    if (flags.json) return this.printJson({ configs });
    this.print(configs.map((c) => `# ${c.path} (${c.kind})\n${stringify(c.config)}`).join('---\n').trimEnd());
  }
}
