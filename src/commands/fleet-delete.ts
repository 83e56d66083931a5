/**
 * `dstack fleet delete NAME`: asks (dstack's "Delete the fleet NAME?"), deletes, and waits until every instance
 * is terminated, showing each host as it is cleaned up.
 */
import { Args, Flags } from '@oclif/core';
import type { FleetView } from '../core/api.js';
import { connectDaemon, type DaemonClient } from '../core/client/index.js';
import { DstackError, UserError } from '../core/errors.js';
import { hostLabel, hostState } from '../ui/fleet-progress.js';
import type { ProgressReporter } from '../ui/progress.js';
import { BaseCommand, projectFlag } from './base.js';

/** Deleted: terminated, or no longer active with every instance terminated (the fleet row may lag its hosts). */
export const fleetGone = (f: FleetView): boolean =>
  f.status === 'terminated' || (f.status !== 'active' && f.status !== 'submitted' && f.instances.every((i) => i.status === 'terminated'));

export default class FleetDelete extends BaseCommand {
  static override summary = 'Delete a fleet: stop its agents and leave its hosts clean.';
  static override description = 'Waits until every instance is terminated and its host is clean. A fleet whose hosts still run replicas is only deleted with --force, which stops them.';
  static override examples = ['dstack fleet delete my-fleet', 'dstack fleet delete my-fleet -y --force'];
  static override args = { name: Args.string({ required: true, description: 'The fleet name.' }) };
  static override flags = {
    project: projectFlag,
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation.' }),
    force: Flags.boolean({ description: 'Delete even if replicas still run on its hosts (they are stopped).' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(FleetDelete);
    const client = await connectDaemon({ env: this.io.env });
    try {
      // Fails with FLEET_NOT_FOUND before asking anything when the name is wrong; a deleted fleet is gone too (dstack).
      if ((await client.getFleet(args.name)).status === 'terminated') {
        throw new UserError('FLEET_NOT_FOUND', `Fleet ${args.name} does not exist (it was deleted)`, { hint: 'See `dstack fleet -a`.' });
      }
      if (!flags.yes && !(await this.confirmOrFail(`Delete the fleet ${args.name}?`))) return this.note('Exiting...');
      const fleet = await client.deleteFleet(args.name, flags.force);
      if (!fleetGone(fleet)) {
        const progress = await this.progress();
        try {
          progress.update('delete', `Deleting fleet ${args.name}...`);
          await waitGone(client, args.name, hostsReporter(progress));
        } finally {
          await progress.stop();
        }
      }
      this.print(`Fleet ${args.name} deleted`);
    } finally {
      await client.close();
    }
  }
}

/** One live line per host while it is cleaned up; a finished line once it is terminated. */
function hostsReporter(progress: ProgressReporter): (f: FleetView) => void {
  const finished = new Set<string>();
  return (fleet) => {
    for (const i of fleet.instances) {
      if (finished.has(i.name)) continue;
      if (i.status !== 'terminated') progress.update(i.name, `${hostLabel(i)}: ${hostState(i)}`);
      else (finished.add(i.name), progress.done(i.name, `${hostLabel(i)}: ${hostState(i)}`));
    }
  };
}

/** Follows the fleet until it is gone; a daemon that already forgot it (FLEET_NOT_FOUND) counts as gone. */
async function waitGone(client: DaemonClient, name: string, onFleet: (f: FleetView) => void): Promise<void> {
  try {
    for (;;) {
      for await (const fleet of client.watchFleet(name)) {
        onFleet(fleet);
        if (fleetGone(fleet)) return;
      }
      // The events stream ended early: look once more, then follow again after a pause.
      const fleet = await client.getFleet(name);
      onFleet(fleet);
      if (fleetGone(fleet)) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  } catch (e) {
    if (e instanceof DstackError && e.code === 'FLEET_NOT_FOUND') return;
    throw e;
  }
}
