/** The control API paths the pages call, names escaped (a run name is user text). */
export const runPath = (name: string, rest = '') => `/api/runs/${encodeURIComponent(name)}${rest}`;

export const logsPath = (run: string, replica: number) => runPath(run, `/logs?replica=${replica}&follow=1`);

export interface OfferFilters {
  gpu: string;
  backend: string;
  spot: string;
}

/** GET /api/offers with the form's filters (core/catalog/query.ts reads the same names); empty fields are left out. */
export function offersQuery(f: OfferFilters, max = 50): string {
  const q = new URLSearchParams();
  if (f.gpu.trim()) q.set('gpu', f.gpu.trim());
  if (f.backend.trim()) q.set('backend', f.backend.trim());
  if (f.spot) q.set('spot_policy', f.spot);
  q.set('max_offers', String(max));
  return `/api/offers?${q.toString()}`;
}
