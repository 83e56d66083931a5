/**
 * The one firewall rule a dstack project needs, as dstack's `create_runner_firewall_rules`: SSH (tcp:22) in, to VMs
 * with the project's network tag. Everything else (agent API, replica traffic) goes through that SSH connection.
 * Created on the first create of a daemon's life; a rule that exists already (409) is the rule we want.
 */
import type { Gce } from './client.js';
import { httpStatusOf } from './errors.js';
import { resourceName } from './instance-spec.js';

export function firewallName(tag: string): string {
  return resourceName(`${tag}-ssh-in`);
}

export async function ensureSshFirewall(gce: Gce, network: string, tag: string): Promise<string> {
  const name = firewallName(tag);
  try {
    await gce.call('firewalls.insert', 'global', async (c) => {
      const [op] = await c.firewalls.insert({
        project: gce.project,
        firewallResource: {
          name,
          network,
          direction: 'INGRESS',
          allowed: [{ IPProtocol: 'tcp', ports: ['22'] }],
          sourceRanges: ['0.0.0.0/0'],
          targetTags: [tag],
          description: 'dstack: SSH in to the VMs of one dstack project',
        },
      });
      await gce.wait(c, op.latestResponse);
    });
  } catch (e) {
    if (httpStatusOf(e) !== 409) throw e;
  }
  return name;
}
