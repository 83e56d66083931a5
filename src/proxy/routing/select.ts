/**
 * Replica choice: least outstanding requests (SkyServe's default policy; dstack's in-server proxy picks at random),
 * ties broken by the injected random source so equally idle replicas share the load.
 */
import type { ReplicaTarget } from '../contracts.js';

export type Random = () => number;

export function pickReplica(
  replicas: readonly ReplicaTarget[],
  outstanding: (replicaId: string) => number,
  random: Random,
  exclude?: ReadonlySet<string>,
): ReplicaTarget | undefined {
  let best: ReplicaTarget | undefined;
  let bestLoad = Infinity;
  let ties = 0;
  for (const replica of replicas) {
    if (exclude?.has(replica.id)) continue;
    const load = outstanding(replica.id);
    if (load < bestLoad) {
      best = replica;
      bestLoad = load;
      ties = 1;
    } else if (load === bestLoad && random() * ++ties < 1) {
      // Reservoir sampling over the tied replicas: each of the k ties wins with probability 1/k, one pass.
      best = replica;
    }
  }
  return best;
}
