/**
 * The control API's secret operations for the daemon's project: names and values checked as dstack checks them,
 * a missing name answered 404 SECRET_NOT_FOUND. Only `get` returns a value (`dstack secret get`, as in dstack);
 * every other answer carries names and dates.
 */
import type { SecretValue, SecretView, SetSecretResult } from '../../core/api.js';
import { UserError } from '../../core/errors.js';
import { checkSecretName, checkSecretValue } from '../../core/secrets/names.js';
import type { SecretStore } from '../../core/secrets/store.js';

export class SecretsControl {
  constructor(private readonly o: { store: SecretStore; project: string }) {}

  list(): SecretView[] {
    return this.o.store.list(this.o.project);
  }

  get(name: string): SecretValue {
    const secret = this.list().find((s) => s.name === name);
    const value = this.o.store.values(this.o.project).get(name);
    if (!secret || value === undefined) throw notFound(name);
    return { ...secret, value };
  }

  async set(name: string, value: string): Promise<SetSecretResult> {
    checkSecretName(name);
    checkSecretValue(value);
    const { secret, created } = await this.o.store.set(this.o.project, name, value);
    return { ...secret, created };
  }

  async delete(name: string): Promise<SecretView> {
    const gone = await this.o.store.delete(this.o.project, name);
    if (!gone) throw notFound(name);
    return gone;
  }

  /**
   * Removes every secret of the project (it is deleted, or made again under a name that had some). One delete per
   * name through the store's own write path: both stores already make each durable, and a project has few.
   */
  async purge(): Promise<number> {
    const names = this.list().map((s) => s.name);
    for (const name of names) await this.o.store.delete(this.o.project, name);
    return names.length;
  }

  /** The names runs of this project may reference (checked at apply). */
  names(): ReadonlySet<string> {
    return new Set(this.o.store.values(this.o.project).keys());
  }
}

function notFound(name: string): UserError {
  return new UserError('SECRET_NOT_FOUND', `Secret ${name} not found`, { status: 404, hint: 'See `dstack secret list`.' });
}
