import { Args, Flags } from '@oclif/core';
import type { RunMetrics } from '../core/api.js';
import { connectDaemon, type DaemonClient } from '../core/client/index.js';
import { UserError } from '../core/errors.js';
import { hasRunningReplica, renderMetricsTable } from '../ui/metrics-table.js';
import { refreshUntilInterrupted } from './watch.js';
import { BaseCommand, projectFlag } from './base.js';

/** Between refreshes of `-w`; each fetch itself takes about a second (the agents sample CPU over one). */
const WATCH_INTERVAL_MS = 2000;

export default class Metrics extends BaseCommand {
  static override summary = "Show a run's CPU, memory and GPU use.";
  static override description =
    'Samples each running replica now: CPU as a share of its CPU allowance (its limit, else the host\'s CPUs), memory used/limit, and per GPU its memory and utilisation (nvidia-smi or amd-smi on the host).';
  static override examples = ['dstack metrics my-service', 'dstack metrics my-service -w', 'dstack metrics my-service --json'];
  static override args = { name: Args.string({ required: true, description: 'The run name.' }) };
  static override flags = {
    project: projectFlag,
    watch: Flags.boolean({ char: 'w', description: 'Refresh every 2 seconds (needs a terminal).' }),
    json: Flags.boolean({ description: 'Print RunMetrics as JSON (cpu.percent: 100 = one core; cpu.cores: its allowance).' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Metrics);
    if (flags.watch && (flags.json || !this.isTTY())) {
      throw new UserError('WATCH_NEEDS_TTY', '-w needs a terminal', { hint: 'Run `dstack metrics` without -w (or with --json) in scripts.' });
    }
    const client = await connectDaemon({ env: this.io.env });
    try {
      const metrics = await client.runMetrics(args.name);
      if (flags.watch) return await this.watch(client, metrics);
      if (!hasRunningReplica(metrics)) throw noRunningReplica(metrics);
      if (flags.json) return this.printJson(metrics);
      this.print(renderMetricsTable(metrics, { painter: this.painter(), width: this.io.stdout.columns }));
    } finally {
      await client.close();
    }
  }

  /** Redraws until Ctrl+C; a run without running replicas is shown waiting, since one may start. */
  private async watch(client: DaemonClient, first: RunMetrics): Promise<void> {
    const { mountMetricsWatch } = await import('../ui/metrics-table.view.js');
    const view = mountMetricsWatch({ metrics: first, stream: this.io.stdout, color: this.painter().enabled });
    await refreshUntilInterrupted(view, (signal) => client.runMetrics(first.run, signal), WATCH_INTERVAL_MS);
  }
}

function noRunningReplica(m: RunMetrics): UserError {
  return new UserError('NO_RUNNING_REPLICA', `Run ${m.run} has no running replica (it is ${m.status})`, {
    hint: m.replicas.length > 0 ? 'Its replicas are still starting: try again shortly, or use `dstack metrics -w` to wait.' : 'See `dstack ps -a` for its status.',
  });
}
