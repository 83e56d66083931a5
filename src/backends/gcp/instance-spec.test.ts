import { describe, expect, it } from 'vitest';
import type { Offer } from '../../core/api.js';
import { OfferUnavailableError, type CreateInstanceRequest } from '../compute.js';
import { acceleratorsOf, insertBody, instanceNameOf, labelValue, networkTag, resourceName } from './instance-spec.js';

const GiB = 1024 ** 3;
const gpu = (name: string, n = 1) => Array.from({ length: n }, () => ({ name, memoryMiB: 16384, vendor: 'nvidia' }));

function req(instanceType: string, gpus: Offer['resources']['gpus'], spot = false): CreateInstanceRequest {
  const offer: Offer = { backend: 'gcp', region: 'us-central1', zone: 'us-central1-a', instanceType, resources: { cpus: 4, memoryBytes: 16 * GiB, diskBytes: 0, gpus, arch: 'x86' }, spot, price: 1, availability: 'available' };
  return { project: 'main', fleet: 'f', instanceName: 'f-0', offer, diskGiB: 100, sshPublicKey: 'ssh-ed25519 AAAA dstack\n' };
}

const spec = (r: CreateInstanceRequest) => ({ req: r, project: 'p1', zone: 'us-central1-a', name: 'main-f-0-abc', image: { selfLink: 'projects/x/global/images/y', diskSizeGb: 50 }, user: 'ubuntu', userData: '#cloud-config\n', network: 'projects/p1/global/networks/default', publicIp: false });

describe('GCE names and labels', () => {
  it('label values keep only lowercase letters, digits, _ and -, at most 63 characters', () => {
    expect(labelValue('Team.ML/Prod')).toBe('team-ml-prod');
    expect(labelValue('x'.repeat(80))).toHaveLength(63);
  });

  it('resource names start with a letter, end with a letter or digit, and fit 63 characters with the suffix', () => {
    expect(resourceName('0-fleet_a')).toBe('d-0-fleet-a');
    expect(resourceName('abc--')).toBe('abc');
    const name = instanceNameOf('p'.repeat(40), `${'i'.repeat(40)}-`, 'k3x9a2b1');
    expect(name).toMatch(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(name.endsWith('-k3x9a2b1')).toBe(true);
    expect(networkTag('Main')).toBe('dstack-main');
  });
});

describe('insertBody', () => {
  it('n1 + 2x V100: attached accelerators of the zone, count 2', () => {
    expect(acceleratorsOf(req('n1-standard-8', gpu('V100', 2)), 'p1', 'us-central1-a')).toEqual([
      { acceleratorType: 'projects/p1/zones/us-central1-a/acceleratorTypes/nvidia-tesla-v100', acceleratorCount: 2 },
    ]);
  });

  it.each(['g2-standard-4', 'a2-highgpu-1g', 'a3-highgpu-8g'])('%s has its GPUs built in: none attached, still no live migration', (type) => {
    const body = insertBody(spec(req(type, gpu('L4'))));
    expect(body.guestAccelerators).toBeUndefined();
    expect(body.scheduling).toEqual({ onHostMaintenance: 'TERMINATE', automaticRestart: true });
  });

  it('a GPU GCE cannot attach makes the offer unsupported instead of failing provisioning', () => {
    expect(() => acceleratorsOf(req('n1-standard-4', gpu('H200')), 'p1', 'us-central1-a')).toThrow(OfferUnavailableError);
  });

  it('spot: SPOT provisioning, deleted on preemption, no restart', () => {
    expect(insertBody(spec(req('e2-standard-2', [], true))).scheduling).toEqual({ provisioningModel: 'SPOT', instanceTerminationAction: 'DELETE', automaticRestart: false, onHostMaintenance: 'TERMINATE' });
  });

  it('boot disk at least the image size; no public IP when public_ips is false; the key trimmed into ssh-keys', () => {
    const body = insertBody(spec({ ...req('e2-standard-2', []), diskGiB: 20 }));
    expect(body.disks?.[0]?.initializeParams?.diskSizeGb).toBe(50);
    expect(body.networkInterfaces?.[0]?.accessConfigs).toEqual([]);
    expect(body.metadata?.items).toContainEqual({ key: 'ssh-keys', value: 'ubuntu:ssh-ed25519 AAAA dstack' });
  });
});
