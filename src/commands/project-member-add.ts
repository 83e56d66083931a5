/** `dstack project member add PROJECT USER --role R`: adds a member, or changes a member's role. */
import { Args, Flags } from '@oclif/core';
import { connectDaemon } from '../core/client/index.js';
import type { ProjectRole } from '../core/state/schema.js';
import { BaseCommand, projectFlag } from './base.js';

export default class ProjectMemberAdd extends BaseCommand {
  static override summary = 'Add a user to a project, or change a member\'s role.';
  static override description =
    'user: runs, fleets and secret names; manager: also members and secret values; admin: also the admin role and deleting the project. ' +
    'Project managers and admins may do this; only admins grant or change the admin role.';
  static override examples = ['dstack project member add team-a alice --role user', 'dstack project member add team-a bob --role manager'];
  static override args = {
    project: Args.string({ required: true, description: 'The project name.' }),
    user: Args.string({ required: true, description: 'The user name.' }),
  };
  static override flags = {
    project: projectFlag,
    role: Flags.string({ description: 'The role in the project.', options: ['admin', 'manager', 'user'], required: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ProjectMemberAdd);
    const client = await connectDaemon({ env: this.io.env });
    try {
      await client.addProjectMember(args.project, args.user, flags.role as ProjectRole);
      this.note(`User ${args.user} is a ${flags.role} of project ${args.project}`);
      this.print('OK');
    } finally {
      await client.close();
    }
  }
}
