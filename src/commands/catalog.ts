import { Flags } from '@oclif/core';
import { connectDaemon } from '../core/client/index.js';
import { BaseCommand, projectFlag } from './base.js';

export default class CatalogRefresh extends BaseCommand {
  static override summary = 'Refresh the offers catalogs (instance types and prices) under DSTACK_HOME/server/catalog.';
  static override description =
    'With --url, fetches gpuhunt-compatible catalogs ({url}/{provider}/version, then {url}/{provider}/{version}/catalog.zip). ' +
    'Without it, reads the clouds\' own APIs with the credentials of config.yml (aws: EC2 instance types and spot prices; ' +
    'on-demand prices stay those of the shipped catalog). Offers use the refreshed catalog from then on.';
  static override examples = ['dstack catalog refresh --backend aws', 'dstack catalog refresh --url https://catalogs.example.com/v2 --backend gcp'];
  static override flags = {
    project: projectFlag,
    url: Flags.string({ description: 'A gpuhunt-compatible base URL.' }),
    backend: Flags.string({ char: 'b', multiple: true, description: 'The provider to refresh (aws, gcp); repeatable. Default: all (with --url) or the configured ones.' }),
    json: Flags.boolean({ description: 'Print {written: [...]} as JSON.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(CatalogRefresh);
    const client = await connectDaemon({ env: this.io.env });
    try {
      const result = await client.refreshCatalog({
        ...(flags.url !== undefined ? { url: flags.url } : {}),
        ...(flags.backend ? { backends: flags.backend } : {}),
      });
      if (flags.json) return this.printJson(result);
      for (const w of result.written) this.print(`Wrote ${w.path}: ${w.rows} offers of ${w.provider}, prices of ${w.date} (from ${w.source})`);
    } finally {
      await client.close();
    }
  }
}
