/**
 * Which instances a replica may go to: those the configuration's `fleets:`, `backends:` and `instance_types:` allow
 * (each filter applied in turn, so the one that leaves nothing is named), and of those the `available` ones. Pure.
 * A `fleets:` entry may be `project/name` as dstack allows; instances carry their fleet's name, so the name part
 * is matched. dstack's backend name `remote` is our `ssh`.
 *   "no instance in fleet `gpus`", "no instance with backend `aws`", "all 3 hosts are unavailable (unreachable or not ready)"
 */
import type { InstanceCapacity, PlacementRequest } from './types.js';

const quoted = (xs: readonly string[]): string => xs.map((x) => `\`${x}\``).join(', ');

type Candidates = { ok: true; instances: InstanceCapacity[] } | { ok: false; reason: string };

interface Filter {
  values: string[] | undefined;
  keep(instance: InstanceCapacity, values: string[]): boolean;
  /** `fleet` → "no instance in fleet `a`" / "… in fleets `a`, `b`". */
  none: string;
}

const backendName = (b: string): string => (b.toLowerCase() === 'remote' ? 'ssh' : b.toLowerCase());
const inFleet = (fleet: string | undefined, wanted: string): boolean =>
  fleet !== undefined && (wanted === fleet || wanted.endsWith(`/${fleet}`));

/** The instances the configuration's filters allow that are available now, or why there are none. */
export function filterCandidates(req: PlacementRequest, instances: readonly InstanceCapacity[]): Candidates {
  if (instances.length === 0) {
    return { ok: false, reason: 'there are no instances: create a fleet with `dstack apply -f <fleet>.dstack.yml`' };
  }
  const filters: Filter[] = [
    { values: req.fleets, keep: (i, v) => v.some((f) => inFleet(i.fleet, f)), none: 'in fleet' },
    { values: req.backends, keep: (i, v) => v.map(backendName).includes(backendName(i.backend)), none: 'with backend' },
    { values: req.instanceTypes, keep: (i, v) => i.instanceType !== undefined && v.includes(i.instanceType), none: 'of type' },
  ];
  let left = [...instances];
  for (const { values, keep, none } of filters) {
    if (values === undefined || values.length === 0) continue;
    left = left.filter((i) => keep(i, values));
    if (left.length === 0) return { ok: false, reason: `no instance ${none}${values.length > 1 ? 's' : ''} ${quoted(values)}` };
  }
  const available = left.filter((i) => i.available);
  if (available.length > 0) return { ok: true, instances: available };
  const what = left.length === 1 ? `host \`${left[0]?.name ?? ''}\` is` : `all ${left.length} hosts are`;
  return { ok: false, reason: `${what} unavailable (unreachable or not ready)` };
}
