/**
 * One SSH host, one fleet: a host runs one agent (its token, its replicas, its teardown), so a host that a live
 * instance of another fleet already holds, in this project or another, is refused when a fleet is planned or applied
 * instead of being joined twice (two installs overwrite each other's token, and deleting either fleet would tear down
 * the agent both use). Hosts are told apart by hostname and port: another user on the same sshd still reaches the
 * same machine. Another project's fleet is not named: its name is that project's business.
 */
import { UserError } from '../../core/errors.js';
import type { SshTarget } from '../../core/fleets/types.js';
import type { InstanceRecord } from '../../core/state/schema.js';
import { instanceProject } from './project-state.js';

const machine = (t: Pick<SshTarget, 'hostname' | 'port'>): string => `${t.hostname}:${t.port}`;

export interface FleetClaim {
  project: string;
  /** The server's default project: instances without a project are its. */
  defaultProject: string;
  fleet: string;
}

export function refuseTakenHosts(claim: FleetClaim, adding: readonly SshTarget[], instances: readonly InstanceRecord[]): void {
  if (adding.length === 0) return;
  const held = new Map<string, InstanceRecord>();
  for (const i of instances) {
    if (!i.target || i.status === 'terminated') continue;
    const project = instanceProject(i, claim.defaultProject);
    if (project === claim.project && i.fleet === claim.fleet) continue;
    held.set(machine(i.target), i);
  }
  for (const t of adding) {
    const holder = held.get(machine(t));
    if (!holder) continue;
    const sameProject = instanceProject(holder, claim.defaultProject) === claim.project;
    const where = sameProject ? `fleet \`${holder.fleet}\`` : 'a fleet of another project';
    throw new UserError('HOST_IN_ANOTHER_FLEET', `fleet \`${claim.fleet}\`: host \`${machine(t)}\` already belongs to ${where}`, {
      status: 409,
      hint: sameProject
        ? `A host serves one fleet: remove it from \`${holder.fleet}\` first (edit that fleet and apply it, or \`dstack fleet delete ${holder.fleet}\`).`
        : 'A host serves one fleet: ask that project to take it out of its fleet first, or use another host.',
    });
  }
}
