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

// A project's routes; the account routes (/api/me, /api/users, /api/projects) belong to no project.
const PROJECT_SCOPED = /^\/api\/(runs|fleets|offers|secrets|catalog)(?=[/?]|$)/;

/** A project's path for a project-scoped route (`/api/projects/<p>/runs/…`); unchanged without a project. */
export function scopedPath(path: string, project: string | undefined): string {
  if (project === undefined || !PROJECT_SCOPED.test(path)) return path;
  return `/api/projects/${encodeURIComponent(project)}${path.slice('/api'.length)}`;
}
