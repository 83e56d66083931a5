/**
 * Which replicas to stop when scaling down (dstack `build_replica_lists`): out-of-date deployments first, then the
 * least important — submitted < provisioning/pulling < running-not-ready < running-and-ready — then the highest
 * replica number. Pure.
 */
export interface ScaleCandidate {
  num: number;
  deployment: number;
  status: 'submitted' | 'provisioning' | 'pulling' | 'running';
  ready: boolean;
}

function importance(c: ScaleCandidate): number {
  if (c.status === 'running') return c.ready ? 3 : 2;
  if (c.status === 'provisioning' || c.status === 'pulling') return 1;
  return 0;
}

export function pickReplicasToStop<C extends ScaleCandidate>(active: readonly C[], count: number, currentDeployment: number): C[] {
  if (count <= 0) return [];
  const ordered = [...active].sort((a, b) => {
    const staleA = a.deployment < currentDeployment ? 0 : 1;
    const staleB = b.deployment < currentDeployment ? 0 : 1;
    if (staleA !== staleB) return staleA - staleB;
    const imp = importance(a) - importance(b);
    if (imp !== 0) return imp;
    return b.num - a.num;
  });
  return ordered.slice(0, count);
}
