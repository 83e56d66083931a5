/**
 * Hash routes, so every page is a URL to bookmark and the daemon serves one index.html:
 * `#/runs`, `#/runs/<name>`, `#/fleets`, `#/offers`. Anything else is the runs page.
 */
export type Route = { page: 'runs' } | { page: 'run'; name: string } | { page: 'fleets' } | { page: 'offers' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '');
  const parts = path.split('/').filter((p) => p !== '');
  if (parts[0] === 'runs' && parts.length === 2) {
    try {
      return { page: 'run', name: decodeURIComponent(parts[1]!) };
    } catch {
      return { page: 'runs' };
    }
  }
  if (parts.length === 1 && (parts[0] === 'fleets' || parts[0] === 'offers')) return { page: parts[0] };
  return { page: 'runs' };
}

export function hrefOf(route: Route): string {
  return route.page === 'run' ? `#/runs/${encodeURIComponent(route.name)}` : `#/${route.page}`;
}

/** The navigation entry a route belongs to (a run's page is under Runs). */
export function sectionOf(route: Route): 'runs' | 'fleets' | 'offers' {
  return route.page === 'run' ? 'runs' : route.page;
}
