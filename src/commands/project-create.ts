/** `dstack project create NAME`: any user may create a project, and becomes its admin. */
import { Args } from '@oclif/core';
import { checkAccountName } from '../core/auth/names.js';
import { connectDaemon } from '../core/client/index.js';
import { BaseCommand, projectFlag } from './base.js';

export default class ProjectCreate extends BaseCommand {
  static override summary = 'Create a project; you become its admin.';
  static override description = 'Add members with `dstack project member add PROJECT USER --role admin|manager|user`.';
  static override examples = ['dstack project create team-a'];
  static override flags = { project: projectFlag };
  static override args = { name: Args.string({ required: true, description: 'The project name: lower-case letters, digits, `-` and `_`.' }) };

  async run(): Promise<void> {
    const { args } = await this.parse(ProjectCreate);
    checkAccountName('project', args.name);
    const client = await connectDaemon({ env: this.io.env });
    try {
      const project = await client.createProject(args.name);
      this.note(`Project ${project.name} created; you are its ${project.role}`);
      this.print('OK');
    } finally {
      await client.close();
    }
  }
}
