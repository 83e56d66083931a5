/**
 * Hash routes, so every page is a URL to bookmark and the daemon serves one index.html:
 * `#/runs`, `#/runs/<name>`, `#/models`, `#/models/<model>` (its playground), `#/fleets`, `#/offers`. Anything else
 * is the runs page.
 */
export type Route =
  | { page: 'runs' }
  | { page: 'run'; name: string }
  | { page: 'models'; model?: string }
  | { page: 'fleets' }
  | { page: 'offers' };

const decode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '');
  const parts = path.split('/').filter((p) => p !== '');
  if (parts[0] === 'runs' && parts.length === 2) {
    const name = decode(parts[1]!);
    return name === undefined ? { page: 'runs' } : { page: 'run', name };
  }
  // Model names have slashes (`org/model`): everything after `models/` is the name.
  if (parts[0] === 'models') {
    const model = parts.length > 1 ? decode(parts.slice(1).join('/')) : undefined;
    return model === undefined ? { page: 'models' } : { page: 'models', model };
  }
  if (parts.length === 1 && (parts[0] === 'fleets' || parts[0] === 'offers')) return { page: parts[0] };
  return { page: 'runs' };
}

export function hrefOf(route: Route): string {
  if (route.page === 'run') return `#/runs/${encodeURIComponent(route.name)}`;
  if (route.page === 'models' && route.model !== undefined) return `#/models/${route.model.split('/').map(encodeURIComponent).join('/')}`;
  return `#/${route.page}`;
}

/** The navigation entry a route belongs to (a run's page is under Runs). */
export function sectionOf(route: Route): 'runs' | 'models' | 'fleets' | 'offers' {
  return route.page === 'run' ? 'runs' : route.page;
}
