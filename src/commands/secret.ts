/**
 * `dstack secret` / `dstack secret list`: the project's secrets by name, with when each was created and last
 * changed. Values are never listed (`dstack secret get NAME` shows one); `--json` for scripts.
 */
import { Flags } from '@oclif/core';
import type { SecretView } from '../core/api.js';
import { connectDaemon } from '../core/client/index.js';
import { renderTable } from '../ui/table.js';
import { formatAgo } from '../ui/time.js';
import { BaseCommand, projectFlag } from './base.js';

export default class Secret extends BaseCommand {
  static override summary = 'List the project\'s secrets (names only).';
  static override description =
    'Secrets are referenced in `env` and `registry_auth` as `${{ secrets.NAME }}`; the server puts the values in when a replica starts, ' +
    'and the run keeps the reference. Manage them with `dstack secret set`, `get` and `delete`.';
  static override examples = ['dstack secret', 'dstack secret list --json'];
  static override flags = {
    project: projectFlag,
    json: Flags.boolean({ description: 'Print {secrets: [{name, createdAt, updatedAt}]} as JSON (never values).' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(this.constructor as typeof Secret);
    const client = await connectDaemon({ env: this.io.env });
    try {
      const secrets = await client.listSecrets();
      if (flags.json) return this.printJson({ secrets });
      if (secrets.length === 0) return this.note('No secrets. Set one with `dstack secret set NAME`.');
      this.print(renderSecretsTable(secrets, Date.now(), this.io.stdout.columns));
    } finally {
      await client.close();
    }
  }
}

/** dstack's table shows a VALUE column of `******`; dates say more, and nothing here is ever a value. */
export function renderSecretsTable(secrets: readonly SecretView[], now: number, width?: number): string {
  const rows = secrets.map((s) => ({ cells: [s.name, formatAgo(s.createdAt, now), formatAgo(s.updatedAt, now)] }));
  return renderTable([{ header: 'NAME', shrink: 0 }, { header: 'CREATED' }, { header: 'UPDATED' }], rows, width !== undefined ? { width } : {});
}
