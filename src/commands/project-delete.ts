/** `dstack project delete NAME`: asks first; `-y` skips the question. Only the project's admins may. */
import { Args, Flags } from '@oclif/core';
import { connectDaemon } from '../core/client/index.js';
import { UserError } from '../core/errors.js';
import { BaseCommand, projectFlag } from './base.js';

export default class ProjectDelete extends BaseCommand {
  static override summary = 'Delete a project (its admins only).';
  static override description =
    'Refused while the project has active runs or fleets: stop and delete them first. Its secrets, finished runs and ' +
    'fleets go with it, so a project made again under the name starts empty. A config.yml project deleted here stays ' +
    'deleted across restarts until `dstack project create` makes it again.';
  static override examples = ['dstack project delete team-a', 'dstack project delete team-a -y'];
  static override args = { name: Args.string({ required: true, description: 'The project name.' }) };
  static override flags = { project: projectFlag, yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation.' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ProjectDelete);
    const client = await connectDaemon({ env: this.io.env });
    try {
      // A wrong name fails before anything is asked.
      if (!(await client.listProjects()).some((p) => p.name === args.name)) {
        throw new UserError('PROJECT_NOT_FOUND', `Project ${args.name} not found`, { hint: 'See `dstack project list`.' });
      }
      if (!flags.yes && !(await this.confirmOrFail(`Delete the project ${args.name}?`))) return this.note('Exiting...');
      await client.deleteProject(args.name);
      this.print('OK');
    } finally {
      await client.close();
    }
  }
}
