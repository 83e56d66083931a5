/** `dstack project member remove PROJECT USER`: never the project's last admin. */
import { Args } from '@oclif/core';
import { connectDaemon } from '../core/client/index.js';
import { BaseCommand, projectFlag } from './base.js';

export default class ProjectMemberRemove extends BaseCommand {
  static override summary = 'Remove a user from a project.';
  static override description = 'Project managers and admins may do this; only admins remove an admin, and never the last one.';
  static override examples = ['dstack project member remove team-a alice'];
  static override flags = { project: projectFlag };
  static override args = {
    project: Args.string({ required: true, description: 'The project name.' }),
    user: Args.string({ required: true, description: 'The user name.' }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(ProjectMemberRemove);
    const client = await connectDaemon({ env: this.io.env });
    try {
      await client.removeProjectMember(args.project, args.user);
      this.note(`User ${args.user} is no longer a member of project ${args.project}`);
      this.print('OK');
    } finally {
      await client.close();
    }
  }
}
