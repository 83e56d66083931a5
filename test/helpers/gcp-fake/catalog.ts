// The read-only side of the fake: zones, machine types, accelerator types and images, in the v1 REST shapes
// (machineTypes carry the zone's NAME, acceleratorTypes a zone URL; numbers that are int64 in the API are strings).

export const API_BASE = 'https://www.googleapis.com/compute/v1';

export interface FakeMachineType {
  name: string;
  guestCpus: number;
  memoryMb: number;
  /** Built-in GPUs of accelerator-optimized types (g2, a2, a3). */
  accelerators?: { guestAcceleratorType: string; guestAcceleratorCount: number }[];
}

export interface FakeAcceleratorType {
  name: string;
  description: string;
  maximumCardsPerInstance: number;
}

export interface FakeImage {
  project: string;
  family: string;
  name: string;
  diskSizeGb?: number;
}

export const DEFAULT_ZONES = ['us-central1-a', 'us-central1-b', 'us-central1-c', 'europe-west4-a'];

export const DEFAULT_MACHINE_TYPES: FakeMachineType[] = [
  { name: 'e2-standard-2', guestCpus: 2, memoryMb: 8192 },
  { name: 'n1-standard-4', guestCpus: 4, memoryMb: 15360 },
  { name: 'g2-standard-4', guestCpus: 4, memoryMb: 16384, accelerators: [{ guestAcceleratorType: 'nvidia-l4', guestAcceleratorCount: 1 }] },
  { name: 'a2-highgpu-1g', guestCpus: 12, memoryMb: 87040, accelerators: [{ guestAcceleratorType: 'nvidia-tesla-a100', guestAcceleratorCount: 1 }] },
];

export const DEFAULT_ACCELERATOR_TYPES: FakeAcceleratorType[] = [
  { name: 'nvidia-tesla-t4', description: 'NVIDIA T4', maximumCardsPerInstance: 4 },
  { name: 'nvidia-tesla-v100', description: 'NVIDIA V100', maximumCardsPerInstance: 8 },
  { name: 'nvidia-l4', description: 'NVIDIA L4', maximumCardsPerInstance: 8 },
  { name: 'nvidia-tesla-a100', description: 'NVIDIA A100 40GB', maximumCardsPerInstance: 16 },
];

export const DEFAULT_IMAGES: FakeImage[] = [
  { project: 'ubuntu-os-cloud', family: 'ubuntu-2204-lts', name: 'ubuntu-2204-jammy-v20240927', diskSizeGb: 10 },
  { project: 'deeplearning-platform-release', family: 'common-cu123-ubuntu-2204-py310', name: 'c2-deeplearning-pytorch-2-3-cu121-v20240922-ubuntu-2204-py310', diskSizeGb: 50 },
];

const CREATED = '1969-12-31T16:00:00.000-08:00';

/** A stable numeric id (uint64 as a decimal string) for a resource path. */
export function stableId(path: string): string {
  let h = 1469598103934665603n;
  for (const c of path) h = ((h ^ BigInt(c.charCodeAt(0))) * 1099511628211n) & 0xffffffffffffffffn;
  return h.toString();
}

export function machineTypeJson(project: string, zone: string, t: FakeMachineType): Record<string, unknown> {
  const selfLink = `${API_BASE}/projects/${project}/zones/${zone}/machineTypes/${t.name}`;
  return {
    kind: 'compute#machineType',
    id: stableId(selfLink),
    creationTimestamp: CREATED,
    name: t.name,
    description: `${t.guestCpus} vCPUs, ${Math.round(t.memoryMb / 1024)} GB RAM${t.accelerators ? `, ${t.accelerators.map((a) => `${a.guestAcceleratorCount} ${a.guestAcceleratorType}`).join(', ')}` : ''}`,
    guestCpus: t.guestCpus,
    memoryMb: t.memoryMb,
    imageSpaceGb: 0,
    maximumPersistentDisks: 128,
    maximumPersistentDisksSizeGb: '263168',
    zone,
    selfLink,
    isSharedCpu: false,
    ...(t.accelerators ? { accelerators: t.accelerators } : {}),
  };
}

export function acceleratorTypeJson(project: string, zone: string, t: FakeAcceleratorType): Record<string, unknown> {
  const selfLink = `${API_BASE}/projects/${project}/zones/${zone}/acceleratorTypes/${t.name}`;
  return {
    kind: 'compute#acceleratorType',
    id: stableId(selfLink),
    creationTimestamp: CREATED,
    name: t.name,
    description: t.description,
    zone: `${API_BASE}/projects/${project}/zones/${zone}`,
    selfLink,
    maximumCardsPerInstance: t.maximumCardsPerInstance,
  };
}

export function imageJson(image: FakeImage): Record<string, unknown> {
  const selfLink = `${API_BASE}/projects/${image.project}/global/images/${image.name}`;
  return {
    kind: 'compute#image',
    id: stableId(selfLink),
    creationTimestamp: '2024-09-27T10:00:00.000-07:00',
    name: image.name,
    family: image.family,
    selfLink,
    sourceType: 'RAW',
    status: 'READY',
    diskSizeGb: String(image.diskSizeGb ?? 10),
    architecture: 'X86_64',
    storageLocations: ['us', 'eu', 'asia'],
  };
}

export function zoneJson(project: string, zone: string): Record<string, unknown> {
  const region = zone.replace(/-[a-z]$/, '');
  const selfLink = `${API_BASE}/projects/${project}/zones/${zone}`;
  return { kind: 'compute#zone', id: stableId(selfLink), creationTimestamp: CREATED, name: zone, description: zone, status: 'UP', region: `${API_BASE}/projects/${project}/regions/${region}`, selfLink, availableCpuPlatforms: ['Intel Cascade Lake', 'AMD Milan'] };
}

/** The last segment of a full or partial resource URL (`zones/z/machineTypes/t`, `https://…/t`). */
export const lastSegment = (url: string): string => url.split('/').pop() ?? '';

export const regionOf = (zone: string): string => zone.replace(/-[a-z]$/, '');
