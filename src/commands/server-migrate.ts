/**
 * `dstack server migrate --from-json PATH`: moves a local home's state (runs, instances, fleets, secrets) into the
 * team server's PostgreSQL database (issue 17). Like `dstack server`, it loads the daemon's code, lazily.
 */
import { Flags } from '@oclif/core';
import { existsSync } from 'node:fs';
import { UserError } from '../core/errors.js';
import { loadOrCreateHomeConfig } from '../core/home/config-file.js';
import { databaseSetting, redactDatabaseUrl } from '../core/home/database-url.js';
import { resolveHome } from '../core/home/paths.js';
import { BaseCommand } from './base.js';

export default class ServerMigrate extends BaseCommand {
  static override summary = 'Import a local state.json and secrets.json into a PostgreSQL database.';
  static override description =
    'Creates the schema if needed and imports every run, instance, fleet and secret in one transaction. The database ' +
    'must hold no runs, instances, fleets or secrets yet; state is never merged. Stop the daemon of that home first: ' +
    'what it changes after the import stays behind. The database is --database, else env DSTACK_DATABASE_URL, else ' +
    'config.yml server.database.';
  static override examples = [
    'DSTACK_DATABASE_URL=postgres://dstack@db:5432/dstack dstack server migrate --from-json ~/.dstack',
    'dstack server migrate --from-json ~/.dstack/server/state.json --database postgres://dstack@db:5432/dstack',
  ];
  static override flags = {
    'from-json': Flags.string({ required: true, description: 'A state.json, or the dstack home folder whose server/state.json (and secrets.json) to import.' }),
    database: Flags.string({ description: 'PostgreSQL URL (postgres://user:password@host:5432/db). Prefer env DSTACK_DATABASE_URL: a flag is visible in `ps`.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ServerMigrate);
    const paths = resolveHome(this.io.env);
    const configured = existsSync(paths.configFile) ? (await loadOrCreateHomeConfig(paths.configFile)).server.database : undefined;
    const database = databaseSetting(this.io.env, configured, flags.database);
    if (!database) {
      throw new UserError('DATABASE_NOT_CONFIGURED', 'No database to import into', {
        hint: 'Pass --database postgres://…, or set DSTACK_DATABASE_URL (or server.database in config.yml).',
      });
    }
    // Loaded here, not at the top, as in `dstack server`: the command registry must not pay for pg.
    const { importJsonState, locateJsonState, describeCounts } = await import('../daemon/state/pg/import-json.js');
    const source = await locateJsonState(flags['from-json']);
    if (source.livePid !== undefined) {
      this.note(`Warning: a dstack daemon (pid ${source.livePid}) is running on ${source.stateFile}; changes it makes after this import are not imported.`);
    }
    const counts = await importJsonState({ ...source, url: database.url, log: (line) => this.note(line) });
    this.print(`Imported ${describeCounts(counts)} into ${redactDatabaseUrl(database.url)}`);
  }
}
