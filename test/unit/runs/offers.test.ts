import { describe, expect, it } from 'vitest';
import type { Offer } from '../../../src/core/api.js';
import { UserError } from '../../../src/core/errors.js';
import { checkOffers, runOffers } from '../../../src/core/runs/index.js';
import { ANY_REQUIREMENTS } from '../../../src/core/runs/requirements.js';

const offer = (backend: string, availability: Offer['availability'], fleet?: string): Offer => ({
  backend,
  region: 'local',
  instanceType: fleet ?? 'local',
  resources: { cpus: 4, memoryBytes: 8 * 2 ** 30, diskBytes: 100 * 2 ** 30, gpus: [] },
  spot: false,
  price: 0,
  availability,
  ...(fleet !== undefined ? { fleet } : {}),
});

const local = offer('local', 'available');
const gpuHost = offer('ssh', 'idle', 'gpus');
const cpuHost = offer('ssh', 'busy', 'cpus');
const all = [local, gpuHost, cpuHost];

function refusal(f: () => void): UserError {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('the offers a run may use', () => {
  it('a backend without fleets offers everything it has', () => {
    expect(runOffers(all, {}, undefined)).toEqual(all);
  });

  it('a run for this machine never gets fleet hosts; a fleet run gets only hosts of the fleets it names', () => {
    expect(runOffers(all, {}, false)).toEqual([local]);
    expect(runOffers(all, {}, true)).toEqual([gpuHost, cpuHost]);
    expect(runOffers(all, { fleets: ['cpus'] }, true)).toEqual([cpuHost]);
    expect(runOffers(all, { fleets: [] }, true)).toEqual([gpuHost, cpuHost]);
  });

  it("cloud offers suit a cloud fleet the run may use and the run's own spot_policy", () => {
    const spot = { ...offer('gcp', 'available'), spot: true, price: 0.22 };
    const onDemand = { ...offer('gcp', 'available'), price: 0.7 };
    const fleets = [{ name: 'gpu', filters: { requirements: ANY_REQUIREMENTS, spotPolicy: 'auto' as const } }];
    expect(runOffers([spot, onDemand], { spot_policy: 'auto' }, true, fleets)).toEqual([spot, onDemand]);
    expect(runOffers([spot, onDemand], { spot_policy: 'on-demand' }, true, fleets)).toEqual([onDemand]);
    expect(runOffers([spot, onDemand], { spot_policy: 'spot' }, true, fleets)).toEqual([spot]);
    // The fleet's own policy narrows too.
    expect(runOffers([spot, onDemand], { spot_policy: 'auto' }, true, [{ name: 'gpu', filters: { requirements: ANY_REQUIREMENTS, spotPolicy: 'on-demand' as const } }])).toEqual([onDemand]);
  });
});

describe('apply refuses a run no offer can take', () => {
  it('goes ahead with an available or idle offer, or a busy fleet host (it may have free blocks)', () => {
    expect(() => checkOffers([local], {}, false)).not.toThrow();
    expect(() => checkOffers([gpuHost], {}, true)).not.toThrow();
    expect(() => checkOffers([cpuHost], {}, true)).not.toThrow();
  });

  it('a busy or unavailable local machine is refused, with a hint about its resources', () => {
    const e = refusal(() => checkOffers([offer('local', 'busy'), offer('local', 'not available')], {}, false));
    expect([e.code, e.message]).toEqual(['NO_OFFERS', 'No matching instance offers available.']);
    expect(e.hint).toBe('The local machine does not meet the `resources` of this configuration; lower them or add capacity.');
  });

  it('on fleets, the hint names the fleets looked at', () => {
    expect(refusal(() => checkOffers([], { fleets: ['gpus', 'cpus'] }, true)).hint).toMatch(/^No host of the fleet\(s\) gpus, cpus meets the `resources`/);
    expect(refusal(() => checkOffers([], {}, true)).hint).toMatch(/^No host of your fleets meets the `resources`/);
  });
});
