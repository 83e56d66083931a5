/** `dstack project set-default NAME`: the project commands use without --project (config.yml `default_project`). */
import { Args } from '@oclif/core';
import { resolveHome } from '../core/home/paths.js';
import { setDefaultProject } from '../core/home/project-entries.js';
import { BaseCommand } from './base.js';

export default class ProjectSetDefault extends BaseCommand {
  static override summary = 'Set the default project.';
  static override description = 'A project of config.yml: one of the local server, or one added with `dstack project add`. --project and DSTACK_PROJECT still win.';
  static override examples = ['dstack project set-default team'];
  static override args = { name: Args.string({ required: true, description: 'The project name.' }) };

  async run(): Promise<void> {
    const { args } = await this.parse(ProjectSetDefault);
    await setDefaultProject(resolveHome(this.io.env).configFile, args.name);
    this.note(`Default project: ${args.name}`);
    this.print('OK');
  }
}
