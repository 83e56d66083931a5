import { Flags } from '@oclif/core';
import { stringify } from 'yaml';
import { ConfigError, type LoadedConfig } from '../core/config/load.js';
import { isDstackError, type DstackError } from '../core/errors.js';
import { BaseCommand, EXIT_ERROR } from './base.js';
import { loadConfigArg, refuseStdinTwice } from './config-input.js';

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
    file: Flags.string({ char: 'f', summary: 'Configuration file to validate (repeatable); - reads one from standard input.', required: true, multiple: true }),
    json: Flags.boolean({ summary: 'Print {"configs": [{path, kind, config}]} as JSON.', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Validate);
    refuseStdinTwice(flags.file);
    const loaded: LoadedConfig[] = [];
    const failures: DstackError[] = [];
    for (const file of flags.file) {
      // Collect user errors of every file, so one run reports all of them; anything else is a bug for catch().
      await loadConfigArg(file, this.io).then((c) => loaded.push(c), (e: unknown) => {
        if (!isDstackError(e) || !e.userFacing) throw e;
        failures.push(e);
      });
    }
    if (failures.length > 0) {
      if (flags.json) this.printFailures(failures);
      this.io.stderr.write(`${failures.map((e) => e.message).join('\n')}\n`);
      return this.exit(EXIT_ERROR);
    }
    const configs = loaded.map(({ path, kind, config }) => ({ path, kind, config }));
    if (flags.json) return this.printJson({ configs });
    this.print(configs.map((c) => `# ${c.path} (${c.kind})\n${stringify(c.config)}`).join('---\n').trimEnd());
  }

  /** One JSON error for all files: one failure keeps its own code; `problems` lists every file:line:col found. */
  private printFailures(failures: DstackError[]): void {
    const [only] = failures;
    const code = failures.length === 1 && only ? only.code : 'CONFIG_INVALID';
    const hint = failures.length === 1 ? only?.hint : `${failures.length} files have problems; fix them and run \`dstack validate\` again`;
    const problems = failures.flatMap((e) => (e instanceof ConfigError ? e.problems : []));
    this.printJsonError({ code, message: failures.map((e) => e.message).join('\n'), hint }, problems.length > 0 ? { problems } : {});
  }
}
