/** "What runs where" on the Fleets page: each instance's replicas, from the runs list. */
import type { RunView } from '../core/api.js';
import { currentReplicas } from './format.js';

export interface Placement {
  run: string;
  replica: number;
}

/** Replicas by the instance they run on (`local` for this machine without a fleet), in the runs' order. */
export function placements(runs: readonly RunView[]): Map<string, Placement[]> {
  const where = new Map<string, Placement[]>();
  for (const run of runs) {
    for (const r of currentReplicas(run)) {
      const key = r.instance ?? (r.backend === 'local' ? 'local' : undefined);
      if (key === undefined) continue;
      where.set(key, [...(where.get(key) ?? []), { run: run.name, replica: r.num }]);
    }
  }
  return where;
}
