/**
 * How a replica that failed its probes after being ready reads in `ps -v` and the apply progress lines (issue 14):
 * the probe's own failure, then what the daemon does about it.
 */
import type { ReplicaView } from '../core/api.js';

/** `unhealthy: GET /health failed 3 times in a row (HTTP 500); out of routing, replacing`; '' when healthy. */
export function unhealthyText(r: Pick<ReplicaView, 'unhealthy'>): string {
  const u = r.unhealthy;
  if (!u) return '';
  const what = [u.routed ? 'still routed: no other replica is ready' : 'out of routing', ...(u.replacing ? ['replacing'] : [])];
  return `unhealthy: ${u.reason}; ${what.join(', ')}`;
}
