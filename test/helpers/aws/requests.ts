// Offers and create requests as the fleet logic makes them, for tests of the AWS Compute.
import { utils } from 'ssh2';
import type { Offer } from '../../../src/core/api.js';
import type { CreateInstanceRequest } from '../../../src/backends/compute.js';

const GiB = 1024 ** 3;

/** A g5.xlarge (1x A10G) on-demand offer in us-east-1; `overrides` change any field. */
export function gpuOffer(overrides: Partial<Offer> = {}): Offer {
  return {
    backend: 'aws',
    region: 'us-east-1',
    instanceType: 'g5.xlarge',
    resources: { cpus: 4, memoryBytes: 16 * GiB, diskBytes: 0, gpus: [{ name: 'A10G', memoryMiB: 24 * 1024, vendor: 'nvidia' }], arch: 'x86' },
    spot: false,
    price: 1.006,
    availability: 'available',
    ...overrides,
  };
}

/** A CPU-only offer (m5.large). */
export function cpuOffer(overrides: Partial<Offer> = {}): Offer {
  return gpuOffer({ instanceType: 'm5.large', resources: { cpus: 2, memoryBytes: 8 * GiB, diskBytes: 0, gpus: [], arch: 'x86' }, price: 0.096, ...overrides });
}

/** A fresh ed25519 key pair in OpenSSH format: the project key dstack would pass. */
export function projectKey(): { publicKey: string; privateKey: string } {
  const { public: publicKey, private: privateKey } = utils.generateKeyPairSync('ed25519', { comment: 'dstack' });
  return { publicKey, privateKey };
}

export function createRequest(overrides: Partial<CreateInstanceRequest> = {}): CreateInstanceRequest {
  return {
    project: 'main',
    fleet: 'gpu-fleet',
    instanceName: 'gpu-fleet-0',
    offer: gpuOffer(),
    diskGiB: 100,
    sshPublicKey: projectKey().publicKey,
    ...overrides,
  };
}
