import { BaseCommand } from './base.js';

export default class Init extends BaseCommand {
  static override summary = 'Prepare the current folder for `dstack apply` (nothing to record yet).';
  static override description =
    'Kept for the seed documents that start with `dstack init`. It records nothing today: `dstack apply` needs no preparation of the folder. It prints OK.';
  static override examples = ['dstack init'];

  async run(): Promise<void> {
    await this.parse(Init);
    this.note('Nothing to initialize: `dstack apply -f FILE` works in any folder.');
    this.print('OK');
  }
}
