/**
 * The local machine as one offer (backend `local`, region `local`, instance type `local`, price 0), built from the
 * agent's real host info. Requirements it cannot meet make it `not available` rather than hiding it, so the
 * plan can say why nothing matches.
 */
import type { Offer } from '../../core/api.js';
import type { HostInfo } from '../../core/model/agent-api.js';
import type { Requirements } from '../backend.js';

const within = (value: number, range: { min?: number; max?: number }): boolean =>
  (range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max);

/** Reasons the host does not satisfy `req` (empty when it does). Whole-host offers: totals are compared. */
export function unmetRequirements(host: HostInfo, req: Requirements): string[] {
  const problems: string[] = [];
  if (req.cpu.min !== undefined && host.cpus < req.cpu.min) problems.push(`cpu ${host.cpus} < ${req.cpu.min}`);
  if (req.memoryBytes.min !== undefined && host.memoryBytes < req.memoryBytes.min * 0.95) problems.push('memory');
  if (req.diskBytes.min !== undefined && host.diskTotalBytes < req.diskBytes.min * 0.95) problems.push('disk');
  let gpus = host.gpus;
  if (req.gpu.vendor) gpus = gpus.filter((g) => g.vendor === req.gpu.vendor);
  const names = req.gpu.names?.map((n) => n.toLowerCase());
  if (names && names.length > 0) gpus = gpus.filter((g) => names.some((n) => g.name.toLowerCase().includes(n)));
  const mem = req.gpu.memoryMiB;
  if (mem) gpus = gpus.filter((g) => within(g.memoryMiB, mem));
  const wantsGpu = (req.gpu.count.min ?? 0) > 0;
  if (wantsGpu && !within(gpus.length, req.gpu.count)) problems.push(`gpu: ${host.gpus.length} on this machine`);
  return problems;
}

export function localOffer(host: HostInfo, req: Requirements): Offer {
  const unmet = unmetRequirements(host, req);
  return {
    backend: 'local',
    region: 'local',
    instanceType: 'local',
    resources: {
      cpus: host.cpus,
      memoryBytes: host.memoryBytes,
      diskBytes: host.diskTotalBytes,
      gpus: host.gpus.map((g) => ({ name: g.name, memoryMiB: g.memoryMiB, vendor: g.vendor })),
      arch: host.arch,
    },
    spot: false,
    price: 0,
    availability: unmet.length === 0 ? 'available' : 'not available',
    runtime: host.runtime,
    instance: 'local',
  };
}
