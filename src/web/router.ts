/**
 * Hash routes, so every page is a URL to bookmark and the daemon serves one index.html:
 * `#/runs`, `#/runs/<name>`, `#/models`, `#/models/<model>` (its playground), `#/fleets`, `#/offers`, each also
 * under `#/projects/<p>/…` for project p (without it: the server's default project). Anything else is the runs page.
 */
export type Page =
  | { page: 'runs' }
  | { page: 'run'; name: string }
  | { page: 'models'; model?: string }
  | { page: 'fleets' }
  | { page: 'offers' };

export type Route = Page & { project?: string };

const decode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

function parsePage(parts: readonly string[]): Page {
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

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '');
  const parts = path.split('/').filter((p) => p !== '');
  if (parts[0] === 'projects' && parts.length >= 2) {
    const project = decode(parts[1]!);
    if (project !== undefined && project !== '') return { ...parsePage(parts.slice(2)), project };
  }
  return parsePage(parts);
}

function pageHref(route: Page): string {
  if (route.page === 'run') return `/runs/${encodeURIComponent(route.name)}`;
  if (route.page === 'models' && route.model !== undefined) return `/models/${route.model.split('/').map(encodeURIComponent).join('/')}`;
  return `/${route.page}`;
}

export function hrefOf(route: Route): string {
  return `#${route.project !== undefined ? `/projects/${encodeURIComponent(route.project)}` : ''}${pageHref(route)}`;
}

/** The navigation entry a route belongs to (a run's page is under Runs). */
export function sectionOf(route: Route): 'runs' | 'models' | 'fleets' | 'offers' {
  return route.page === 'run' ? 'runs' : route.page;
}

/** A page of `project` (none: the default project's). */
export const withProject = (page: Page, project: string | undefined): Route => (project === undefined ? page : { ...page, project });

/** The same page in another project (the project picker): a run or a model is another project's, so its list. */
export function inProject(route: Route, project: string | undefined): Route {
  const section: Page = route.page === 'run' ? { page: 'runs' } : route.page === 'models' ? { page: 'models' } : { page: route.page };
  return withProject(section, project);
}
