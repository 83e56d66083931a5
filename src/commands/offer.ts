import { Flags } from '@oclif/core';
import { connectDaemon } from '../core/client/index.js';
import { renderOffersTable } from '../ui/offers-table.js';
import { BaseCommand } from './base.js';

export default class Offer extends BaseCommand {
  static override summary = 'List the offers: capacity a run could get from every configured backend.';
  static override examples = ['dstack offer', 'dstack offer --gpu A100:80GB:2 --json', 'dstack offer --cpu 4.. --memory 16GB..'];
  static override flags = {
    gpu: Flags.string({ description: 'GPU requirement, e.g. 24GB.., A100:2, H100:80GB:8.' }),
    cpu: Flags.string({ description: 'CPU requirement, e.g. 4.. or 2..8.' }),
    memory: Flags.string({ description: 'Memory requirement, e.g. 16GB.. .' }),
    disk: Flags.string({ description: 'Disk requirement, e.g. 100GB.. .' }),
    'max-offers': Flags.integer({ min: 1, default: 50, description: 'How many offers to show.' }),
    json: Flags.boolean({ description: 'Print {offers: Offer[]} as JSON.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Offer);
    const query: Record<string, string> = {};
    for (const key of ['gpu', 'cpu', 'memory', 'disk'] as const) {
      const value = flags[key];
      if (value !== undefined) query[key] = value;
    }
    const client = await connectDaemon({ env: this.io.env });
    try {
      const offers = await client.offers(query);
      if (flags.json) return this.printJson({ offers });
      if (offers.length === 0) return this.print('No matching offers.');
      this.print(renderOffersTable(offers, { max: flags['max-offers'], painter: this.painter(), width: this.io.stdout.columns }));
    } finally {
      await client.close();
    }
  }
}
