import { initRepo } from '../core/repo/index.js';
import { resolveHome } from '../core/home/paths.js';
import { BaseCommand } from './base.js';

export default class Init extends BaseCommand {
  static override summary = 'Record the repo of the current folder for `dstack apply`.';
  static override description =
    'Records the current folder\'s repo (its git root, or the folder) with its id and git remote in DSTACK_HOME/repos.json. Running it again changes nothing. `dstack apply` packs the repo either way; init is kept for the seed documents that start with it.';
  static override examples = ['dstack init'];

  async run(): Promise<void> {
    await this.parse(Init);
    const { record, changed } = await initRepo(process.cwd(), resolveHome(this.io.env).home);
    this.note(`${changed ? 'Recorded' : 'Already recorded'} repo ${record.path} (id ${record.id}${record.remote ? `, remote ${record.remote}` : ''})`);
    this.print('OK');
  }
}
