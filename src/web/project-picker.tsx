/**
 * The project picker: the projects the signed-in user is a member of (all of them for a global admin, as
 * `dstack project list` shows), from GET /api/projects. Choosing one changes the URL (`#/projects/<p>/…`), so the
 * choice is a bookmark and the back button undoes it. Without a project in the URL the pages show the server's
 * default project, which the list does not name, so the picker then offers "Default project" first.
 */
import type { ProjectView } from '../core/auth/api.js';
import type { Api } from './api.js';
import { usePoll } from './hooks.js';
import { hrefOf, inProject, type Route } from './router.js';

const DEFAULT = '';

export function ProjectPicker({ api, route }: { api: Api; route: Route }) {
  // The list changes only when someone adds a project or a member: a slow poll is enough.
  const live = usePoll((signal) => api.get<{ projects: ProjectView[] }>('/api/projects', signal), 30_000, 'projects');
  const projects = live.data?.projects.map((p) => p.name) ?? [];
  const current = route.project ?? DEFAULT;
  // A bookmarked project the list does not (yet) hold stays selectable, so the select never lies about the page.
  const names = route.project !== undefined && !projects.includes(route.project) ? [...projects, route.project] : projects;
  return (
    <label class="picker">
      <span>Project</span>
      <select
        value={current}
        title={live.error}
        onChange={(e) => {
          const value = e.currentTarget.value;
          location.hash = hrefOf(inProject(route, value === DEFAULT ? undefined : value));
        }}
      >
        {route.project === undefined ? <option value={DEFAULT}>Default project</option> : null}
        {names.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
}
