/**
 * `dstack project` / `dstack project list`: the projects the caller is a member of (every project for a global
 * admin), with the caller's role and the members.
 */
import { Flags } from '@oclif/core';
import type { ProjectView } from '../core/api.js';
import { connectDaemon } from '../core/client/index.js';
import { loadOrCreateHomeConfig } from '../core/home/config-file.js';
import { resolveHome } from '../core/home/paths.js';
import { configuredProjects, renderConfiguredTable } from './project-configured.js';
import { renderTable } from '../ui/table.js';
import { BaseCommand, projectFlag } from './base.js';

export default class Project extends BaseCommand {
  static override summary = 'List your projects.';
  static override description =
    'Runs, fleets and secrets belong to a project; its members see and act on them as their role allows (user: run and stop; ' +
    'manager: also members and secret values; admin: also delete the project). Manage them with `dstack project create`, `delete` and `member`.';
  static override examples = ['dstack project', 'dstack project list --json'];
  static override flags = {
    project: projectFlag,
    json: Flags.boolean({ description: 'Print {projects: [{name, createdAt, createdBy, members: [{user, role}], role}], configured: [{name, url, user, default}]} as JSON.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(this.constructor as typeof Project);
    // config.yml's projects (local, and those of other servers from `dstack project add`), then the server's own.
    const configured = configuredProjects(await loadOrCreateHomeConfig(resolveHome(this.io.env).configFile));
    const client = await connectDaemon({ env: this.io.env });
    try {
      const projects = await client.listProjects();
      if (flags.json) return this.printJson({ projects, configured });
      this.print(renderConfiguredTable(configured, this.io.stdout.columns) + '\n');
      if (projects.length === 0) return this.note('No projects. Create one with `dstack project create NAME`.');
      this.print(renderProjectsTable(projects, this.io.stdout.columns));
    } finally {
      await client.close();
    }
  }
}

export function renderProjectsTable(projects: readonly ProjectView[], width?: number): string {
  const rows = projects.map((p) => ({ cells: [p.name, p.role, p.members.map((m) => `${m.user} (${m.role})`).join(', ')] }));
  return renderTable([{ header: 'NAME', shrink: 0 }, { header: 'YOUR ROLE', shrink: 0 }, { header: 'MEMBERS' }], rows, width !== undefined ? { width } : {});
}
