import { Errors, Flags } from '@oclif/core';
import type { OffersResponse } from '../core/api.js';
import { directOffers } from '../core/catalog/direct.js';
import type { OfferQueryInput, SpotPolicy } from '../core/catalog/offer-query.js';
import { connectDaemon } from '../core/client/index.js';
import { plainLocalProject } from '../core/client/plain-local.js';
import { BaseCommand, projectFlag } from './base.js';
import { offersOutput, parseMaxPrice, TABLE_MAX_OFFERS } from './offer-direct.js';

const SPOT_FLAGS = { spot: 'spot', 'on-demand': 'on-demand', 'spot-auto': 'auto' } as const satisfies Record<string, SpotPolicy>;

const maxPrice = Flags.custom<number>({
  description: 'The maximum price per hour, in dollars: offers priced above it are not listed.',
  parse: async (input) => {
    const n = parseMaxPrice(input);
    // oclif prefixes "Parsing --max-price": the flag is named once.
    if (n === undefined) throw new Errors.CLIError(`expected a positive number of dollars per hour, got ${JSON.stringify(input)}`);
    return n;
  },
});

export default class Offer extends BaseCommand {
  static override summary = 'List the offers: capacity a run could get from every configured backend.';
  static override description =
    'Cloud offers come from the backends configured in config.yml, priced from their catalogs (the date is printed); ' +
    'a cloud named with --backend is listed from its catalog even when it is not configured. A query whose --backend ' +
    'names only clouds is answered from their catalogs without the daemon. The table shows the ' +
    `first ${TABLE_MAX_OFFERS} offers and --json all of them, unless --max-offers says otherwise.`;
  static override examples = [
    'dstack offer',
    'dstack offer --backend aws --gpu A100 --json',
    'dstack offer --gpu A100:80GB:2 --spot-auto --max-price 20',
    'dstack offer --cpu 4.. --memory 16GB.. --region us-east-1 --region us-west-2',
  ];
  static override flags = {
    project: projectFlag,
    gpu: Flags.string({ description: 'GPU requirement, e.g. 24GB.., A100:2, H100:80GB:8.' }),
    cpu: Flags.string({ description: 'CPU requirement, e.g. 4.. or 2..8.' }),
    memory: Flags.string({ description: 'Memory requirement, e.g. 16GB.. .' }),
    disk: Flags.string({ description: 'Disk requirement, e.g. 100GB.. .' }),
    backend: Flags.string({ char: 'b', multiple: true, description: 'Only offers of this backend (aws, gcp, ssh, local); repeatable.' }),
    region: Flags.string({ char: 'r', multiple: true, description: 'Only offers in this region (a GCP zone works too); repeatable.' }),
    'instance-type': Flags.string({ multiple: true, description: 'Only this instance type; repeatable.' }),
    spot: Flags.boolean({ description: 'Only spot offers.' }),
    'on-demand': Flags.boolean({ description: 'Only on-demand offers (the default).' }),
    'spot-auto': Flags.boolean({ description: 'Spot and on-demand offers.' }),
    'max-price': maxPrice(),
    'max-offers': Flags.integer({ min: 1, description: `How many offers to show (table default ${TABLE_MAX_OFFERS}, --json default all).` }),
    json: Flags.boolean({ description: 'Print {offers, total, catalogs} as JSON.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Offer);
    const spotPolicy = spotPolicyOf(flags);
    const max = flags['max-offers'];
    const input: OfferQueryInput = {
      ...(flags.gpu !== undefined ? { gpu: flags.gpu } : {}),
      ...(flags.cpu !== undefined ? { cpu: flags.cpu } : {}),
      ...(flags.memory !== undefined ? { memory: flags.memory } : {}),
      ...(flags.disk !== undefined ? { disk: flags.disk } : {}),
      ...(flags.backend ? { backends: flags.backend } : {}),
      ...(flags.region ? { regions: flags.region } : {}),
      ...(flags['instance-type'] ? { instanceTypes: flags['instance-type'] } : {}),
      ...(spotPolicy ? { spotPolicy } : {}),
      ...(flags['max-price'] !== undefined ? { maxPrice: flags['max-price'] } : {}),
      ...(max !== undefined ? { maxOffers: max } : {}),
    };
    // Clouds named with --backend are listed from their catalogs here; the daemon is asked only for what it has.
    const answer = (plainLocalProject(this.io.env) ? await directOffers(input, this.io.env) : undefined) ?? (await this.fromDaemon(input));
    const out = offersOutput(answer, { json: flags.json, max, painter: this.painter(), width: this.io.stdout.columns });
    for (const note of out.notes) this.note(note);
    if (out.json) this.printJson(out.json);
    else this.print(out.text);
  }

  private async fromDaemon(input: OfferQueryInput): Promise<OffersResponse> {
    const client = await connectDaemon({ env: this.io.env });
    try {
      return await client.offers(input);
    } finally {
      await client.close();
    }
  }
}

/** dstack's three spot flags; more than one is a usage error naming them. */
function spotPolicyOf(flags: Partial<Record<keyof typeof SPOT_FLAGS, boolean>>): SpotPolicy | undefined {
  const given = (Object.keys(SPOT_FLAGS) as (keyof typeof SPOT_FLAGS)[]).filter((f) => flags[f]);
  if (given.length > 1) {
    const error = new Errors.CLIError(`--spot, --on-demand and --spot-auto are mutually exclusive; got ${given.map((f) => `--${f}`).join(' and ')}`);
    // A usage error (exit 2), as oclif's own parse errors are.
    throw Object.assign(error, { parse: {} });
  }
  return given[0] ? SPOT_FLAGS[given[0]] : undefined;
}
