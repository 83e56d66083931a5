/**
 * The `instances.insert` body for one offer (pure, so its shape is tested without GCE), after dstack's GCP compute
 * (`create_instance_struct`): n1 machine types get their GPUs as `guestAccelerators`, accelerator-optimized ones
 * (a2, a3, g2…) come with them; a VM with GPUs cannot live-migrate, so host maintenance terminates it; spot VMs are
 * deleted when preempted (a stopped spot VM would still bill its disk and hold the name). Labels follow GCE's rules
 * (https://cloud.google.com/compute/docs/labeling-resources#requirements) and are set on the VM and its boot disk.
 */
import type { protos } from '@google-cloud/compute';
import { OfferUnavailableError, type CreateInstanceRequest } from '../compute.js';

type Instance = protos.google.cloud.compute.v1.IInstance;

/** Machine families whose GPUs are part of the machine type (A100, H100, L4, RTX PRO 6000…). */
const BUILT_IN_GPUS = /^(a2|a3|a4|g2|g4)-/;

/** dstack's `supported_accelerators`: catalog GPU name → GCE accelerator type of an n1 VM. */
const ACCELERATORS: Record<string, string> = {
  T4: 'nvidia-tesla-t4',
  V100: 'nvidia-tesla-v100',
  P100: 'nvidia-tesla-p100',
  P4: 'nvidia-tesla-p4',
};

/** A label value: lowercase letters, digits, `_` and `-`, at most 63 characters. */
export function labelValue(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-')
    .slice(0, 63);
}

/** A resource name (instance, firewall, network tag): `[a-z]([-a-z0-9]*[a-z0-9])?`, at most `max` characters. */
export function resourceName(value: string, max = 63): string {
  const cleaned = value
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-');
  const lettered = /^[a-z]/.test(cleaned) ? cleaned : `d-${cleaned}`;
  return lettered.slice(0, max).replace(/-+$/, '') || 'dstack';
}

export function labelsOf(req: Pick<CreateInstanceRequest, 'project' | 'fleet' | 'instanceName'>): Record<string, string> {
  return { dstack_project: labelValue(req.project), dstack_fleet: labelValue(req.fleet), dstack_instance: labelValue(req.instanceName) };
}

/** The network tag the SSH firewall rule targets, one per dstack project. */
export function networkTag(project: string): string {
  return resourceName(`dstack-${project}`);
}

/** `<project>-<instance>-<suffix>`: the suffix keeps names unique when a name is reused (a replaced instance). */
export function instanceNameOf(project: string, instanceName: string, suffix: string): string {
  return `${resourceName(`${project}-${instanceName}`, 63 - suffix.length - 1)}-${suffix}`;
}

export function acceleratorsOf(req: CreateInstanceRequest, project: string, zone: string): { acceleratorType: string; acceleratorCount: number }[] {
  const gpus = req.offer.resources.gpus;
  const first = gpus[0];
  if (!first || BUILT_IN_GPUS.test(req.offer.instanceType)) return [];
  const type = ACCELERATORS[first.name];
  if (!type) throw new OfferUnavailableError('unsupported', 'UNKNOWN_ACCELERATOR', `no GCE accelerator type is known for GPU ${first.name} on ${req.offer.instanceType}`);
  return [{ acceleratorType: `projects/${project}/zones/${zone}/acceleratorTypes/${type}`, acceleratorCount: gpus.length }];
}

export interface InstanceSpec {
  req: CreateInstanceRequest;
  /** GCE project id. */
  project: string;
  zone: string;
  name: string;
  image: { selfLink: string; diskSizeGb: number };
  user: string;
  userData: string;
  network: string;
  publicIp: boolean;
}

export function insertBody(spec: InstanceSpec): Instance {
  const { req, zone } = spec;
  const labels = labelsOf(req);
  const accelerators = acceleratorsOf(req, spec.project, zone);
  const hasGpus = req.offer.resources.gpus.length > 0 || BUILT_IN_GPUS.test(req.offer.instanceType);
  return {
    name: spec.name,
    machineType: `zones/${zone}/machineTypes/${req.offer.instanceType}`,
    labels,
    tags: { items: [networkTag(req.project)] },
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: {
          sourceImage: spec.image.selfLink,
          diskSizeGb: Math.max(req.diskGiB, spec.image.diskSizeGb),
          diskType: `zones/${zone}/diskTypes/pd-balanced`,
          labels,
        },
      },
    ],
    ...(accelerators.length > 0 ? { guestAccelerators: accelerators } : {}),
    scheduling: req.offer.spot
      ? { provisioningModel: 'SPOT', instanceTerminationAction: 'DELETE', automaticRestart: false, onHostMaintenance: 'TERMINATE' }
      : hasGpus
        ? { onHostMaintenance: 'TERMINATE', automaticRestart: true }
        : {},
    networkInterfaces: [
      {
        network: spec.network,
        accessConfigs: spec.publicIp ? [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT', networkTier: 'PREMIUM' }] : [],
      },
    ],
    metadata: {
      items: [
        { key: 'ssh-keys', value: `${spec.user}:${req.sshPublicKey.trim()}` },
        { key: 'user-data', value: spec.userData },
      ],
    },
  };
}
