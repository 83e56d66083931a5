import { Args, Flags } from '@oclif/core';
import { connectDaemon } from '../core/client/index.js';
import { isRunFinished } from '../core/reconcile/run-status.js';
import { BaseCommand, projectFlag } from './base.js';

export default class Stop extends BaseCommand {
  static override summary = 'Stop a run.';
  static override description = 'Stops every replica of the run (SIGTERM, then SIGKILL after the stop timeout) and waits until they are gone. -x kills them at once.';
  static override examples = ['dstack stop my-service', 'dstack stop my-service -y -x', 'dstack stop my-service -y --json'];
  static override args = { name: Args.string({ required: true, description: 'The run name.' }) };
  static override flags = {
    project: projectFlag,
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation.' }),
    abort: Flags.boolean({ char: 'x', description: 'Kill the replicas without a graceful stop.' }),
    json: Flags.boolean({ description: 'Print the stopped run (RunView) as JSON; errors as {error: {code, message, hint}}.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Stop);
    const client = await connectDaemon({ env: this.io.env });
    try {
      // Fails with RUN_NOT_FOUND before asking anything when the name is wrong.
      await client.getRun(args.name);
      if (!flags.yes && !(await this.confirmOrFail('Are you sure you want to stop the run?'))) return;
      let run = await client.stopRun(args.name, flags.abort);
      if (!isRunFinished(run)) {
        const progress = await this.progress();
        try {
          progress.update('stop', `Stopping ${args.name}...`);
          for await (const next of client.watch(args.name)) {
            run = next;
            if (isRunFinished(run)) break;
          }
        } finally {
          await progress.stop();
        }
      }
      if (flags.json) return this.printJson(run);
      this.print(flags.abort ? 'Aborted' : 'Stopped');
    } finally {
      await client.close();
    }
  }
}
