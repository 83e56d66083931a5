import { Flags } from '@oclif/core';
import type { RunView } from '../core/api.js';
import { connectDaemon, type DaemonClient } from '../core/client/index.js';
import { UserError } from '../core/errors.js';
import { refreshUntilInterrupted } from './watch.js';
import { BaseCommand, projectFlag } from './base.js';
import { psOutput } from './ps-direct.js';

export default class Ps extends BaseCommand {
  static override summary = 'List runs.';
  static override description = 'Shows active runs (or the last finished one). With -v: resources, probes, errors, replicas, RPS and the model.';
  static override examples = ['dstack ps', 'dstack ps -a -v', 'dstack ps -w', 'dstack ps --json'];
  static override flags = {
    project: projectFlag,
    all: Flags.boolean({ char: 'a', description: 'Show finished runs too.' }),
    watch: Flags.boolean({ char: 'w', description: 'Refresh every 2 seconds (needs a terminal).' }),
    last: Flags.integer({ char: 'n', min: 1, description: 'Show only the last N runs (implies -a).' }),
    json: Flags.boolean({ description: 'Print {runs: RunView[]} as JSON.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Ps);
    if (flags.watch && (flags.json || !this.isTTY())) {
      throw new UserError('WATCH_NEEDS_TTY', '-w needs a terminal', { hint: 'Run `dstack ps` without -w (or with --json) in scripts.' });
    }
    const client = await connectDaemon({ env: this.io.env });
    try {
      const load = () => listRuns(client, flags.all || flags.last !== undefined, flags.last);
      const runs = await load();
      if (flags.json) return this.printJson({ runs });
      if (flags.watch) return await this.watch(runs, load, flags.verbose);
      this.io.stdout.write(psOutput(runs, { json: false, verbose: flags.verbose, painter: this.painter(), width: this.io.stdout.columns, now: Date.now() }));
    } finally {
      await client.close();
    }
  }

  private async watch(runs: RunView[], load: () => Promise<RunView[]>, verbose: boolean): Promise<void> {
    const { mountRunsWatch } = await import('../ui/runs-table.view.js');
    const view = mountRunsWatch({ runs, verbose, stream: this.io.stdout, color: this.painter().enabled, now: Date.now });
    await refreshUntilInterrupted(view, () => load(), 2000);
  }
}

async function listRuns(client: DaemonClient, all: boolean, last: number | undefined): Promise<RunView[]> {
  const runs = await client.listRuns(all);
  if (last === undefined) return runs;
  return [...runs].sort((a, b) => b.submittedAt - a.submittedAt).slice(0, last).reverse();
}
