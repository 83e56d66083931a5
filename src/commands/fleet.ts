/**
 * `dstack fleet` / `dstack fleet list`: the fleets and their instances (dstack's fleets table), `--json` for
 * scripts. `fleet:list` is the same command under its explicit name.
 */
import { Flags } from '@oclif/core';
import { connectDaemon } from '../core/client/index.js';
import { renderFleetsTable } from '../ui/fleets-table.js';
import { BaseCommand, projectFlag } from './base.js';

export default class Fleet extends BaseCommand {
  static override summary = 'List fleets and their instances.';
  static override description =
    'Shows every fleet with one row per instance: backend, resources, price, status (`unreachable` when a host stopped answering, why a cloud instance ended) and age. With cloud fleets the table is NAME NODES GPU SPOT BACKEND PRICE STATUS CREATED, a row per fleet then its instances. -v adds the host (SSH fleets) or full resources (cloud fleets) and the last error.';
  static override examples = ['dstack fleet', 'dstack fleet list -v', 'dstack fleet --json'];
  static override flags = {
    project: projectFlag,
    all: Flags.boolean({ char: 'a', description: 'Show terminated fleets too.' }),
    json: Flags.boolean({ description: 'Print {fleets: FleetView[]} as JSON.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(this.constructor as typeof Fleet);
    const client = await connectDaemon({ env: this.io.env });
    try {
      const fleets = await client.listFleets(flags.all);
      if (flags.json) return this.printJson({ fleets });
      if (fleets.length === 0) return this.note('No fleets. Create one with `dstack apply -f fleet.dstack.yml`.');
      this.print(renderFleetsTable(fleets, { now: Date.now(), verbose: flags.verbose, painter: this.painter(), width: this.io.stdout.columns }));
    } finally {
      await client.close();
    }
  }
}
