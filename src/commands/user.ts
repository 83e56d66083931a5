/**
 * `dstack user` / `dstack user list`: the server's users with their global role (global admins only). Tokens are
 * never listed: the server keeps only their hashes.
 */
import { Flags } from '@oclif/core';
import type { UserView } from '../core/api.js';
import { connectDaemon } from '../core/client/index.js';
import { renderTable } from '../ui/table.js';
import { formatAgo } from '../ui/time.js';
import { BaseCommand, projectFlag } from './base.js';

export default class User extends BaseCommand {
  static override summary = 'List users (global admins only).';
  static override description = 'Manage them with `dstack user create` and `dstack user delete`; project roles are shown by `dstack project list`.';
  static override examples = ['dstack user', 'dstack user list --json'];
  static override flags = {
    project: projectFlag,
    json: Flags.boolean({ description: 'Print {users: [{name, globalRole, createdAt}]} as JSON (never tokens).' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(this.constructor as typeof User);
    const client = await connectDaemon({ env: this.io.env });
    try {
      const users = await client.listUsers();
      if (flags.json) return this.printJson({ users });
      this.print(renderUsersTable(users, Date.now(), this.io.stdout.columns));
    } finally {
      await client.close();
    }
  }
}

export function renderUsersTable(users: readonly UserView[], now: number, width?: number): string {
  const rows = users.map((u) => ({ cells: [u.name, u.globalRole, formatAgo(u.createdAt, now)] }));
  return renderTable([{ header: 'NAME', shrink: 0 }, { header: 'ROLE', shrink: 0 }, { header: 'CREATED' }], rows, width !== undefined ? { width } : {});
}
