/** config.yml's projects as `dstack project list` shows them beside the server's: where each is, as whom, which is default. */
import type { HomeConfig } from '../core/home/config-file.js';
import { renderTable } from '../ui/table.js';

export interface ConfiguredProject {
  name: string;
  /** The server's URL, or `local` for the local daemon's projects. */
  url: string;
  user: string;
  default: boolean;
}

export function configuredProjects(config: HomeConfig): ConfiguredProject[] {
  return config.projects.map((p) => ({ name: p.name, url: p.url ?? 'local', user: p.url === undefined ? config.user : (p.user ?? ''), default: p.name === config.default_project }));
}

export function renderConfiguredTable(rows: readonly ConfiguredProject[], width?: number): string {
  const cells = rows.map((r) => ({ cells: [r.name, r.url, r.user, r.default ? 'yes' : ''] }));
  return renderTable([{ header: 'NAME', shrink: 0 }, { header: 'URL' }, { header: 'USER', shrink: 0 }, { header: 'DEFAULT', shrink: 0 }], cells, width !== undefined ? { width } : {});
}
