/**
 * An instance after RunInstances: what EC2 says about it now, terminating it (idempotent: an instance EC2 no longer
 * knows is gone, which is what was asked), and every instance a project tagged (the daemon's sweep).
 */
import type { Instance } from '@aws-sdk/client-ec2';
import type { CloudInstance, CloudInstanceState, Compute, TaggedInstance } from '../compute.js';
import type { Ec2 } from './client.js';
import { awsCode } from './errors.js';

const STATES: readonly CloudInstanceState[] = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'];

export function stateOf(instance: Instance): CloudInstanceState {
  const name = instance.State?.Name as CloudInstanceState | undefined;
  return name !== undefined && STATES.includes(name) ? name : 'pending';
}

/** The address dstack connects to: the public one, or the private one for instances without (a VPN, a peered VPC). */
export function addressOf(instance: Instance): { hostname?: string; internalIp?: string } {
  const hostname = instance.PublicIpAddress ?? instance.PrivateIpAddress;
  return { ...(hostname ? { hostname } : {}), ...(instance.PrivateIpAddress ? { internalIp: instance.PrivateIpAddress } : {}) };
}

/** `Server.SpotInstanceTermination` for a spot interruption, `Client.UserInitiatedShutdown`… */
function stateReason(instance: Instance): string | undefined {
  const code = instance.StateReason?.Code;
  return code && code.length > 0 ? code : undefined;
}

type Described = Awaited<ReturnType<Compute['describeInstance']>>;

const NOT_FOUND = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed']);

export async function describe(ec2: Ec2, instance: Pick<CloudInstance, 'instanceId' | 'region'>): Promise<Described> {
  try {
    const out = await ec2.call(instance.region, 'DescribeInstances', (c, sdk) => c.send(new sdk.DescribeInstancesCommand({ InstanceIds: [instance.instanceId] })));
    const found = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instance.instanceId);
    if (!found) return undefined;
    const reason = stateReason(found);
    return { state: stateOf(found), ...addressOf(found), ...(reason ? { stateReason: reason } : {}) };
  } catch (e) {
    if (NOT_FOUND.has(awsCode(e) ?? '')) return undefined;
    throw e;
  }
}

export async function terminate(ec2: Ec2, instance: Pick<CloudInstance, 'instanceId' | 'region' | 'backendData'>): Promise<void> {
  const { region, instanceId } = instance;
  try {
    await ec2.call(region, 'TerminateInstances', (c, sdk) => c.send(new sdk.TerminateInstancesCommand({ InstanceIds: [instanceId] })));
  } catch (e) {
    if (!NOT_FOUND.has(awsCode(e) ?? '')) throw e;
  }
  // A one-time request ends with its instance, but an open one left behind would show up on the user's bill page.
  const data = instance.backendData;
  const spotRequest = typeof data === 'object' && data !== null && !Array.isArray(data) ? data.spotInstanceRequestId : undefined;
  if (typeof spotRequest !== 'string') return;
  try {
    await ec2.call(region, 'CancelSpotInstanceRequests', (c, sdk) => c.send(new sdk.CancelSpotInstanceRequestsCommand({ SpotInstanceRequestIds: [spotRequest] })));
  } catch (e) {
    if (awsCode(e) !== 'InvalidSpotInstanceRequestID.NotFound') throw e;
  }
}

export async function listTagged(ec2: Ec2, region: string, project: string): Promise<TaggedInstance[]> {
  const found: TaggedInstance[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.call(region, 'DescribeInstances', (c, sdk) =>
      c.send(new sdk.DescribeInstancesCommand({ Filters: [{ Name: 'tag:dstack_project', Values: [project] }], MaxResults: 500, ...(token ? { NextToken: token } : {}) })),
    );
    for (const i of page.Reservations?.flatMap((r) => r.Instances ?? []) ?? []) {
      if (!i.InstanceId) continue;
      const tag = (key: string) => i.Tags?.find((t) => t.Key === key)?.Value;
      const [name, fleet, reason] = [tag('dstack_instance'), tag('dstack_fleet'), stateReason(i)];
      found.push({
        instanceId: i.InstanceId,
        region,
        state: stateOf(i),
        ...(name ? { instanceName: name } : {}),
        ...(fleet ? { fleet } : {}),
        ...(reason ? { stateReason: reason } : {}),
      });
    }
    token = page.NextToken;
  } while (token);
  return found;
}
