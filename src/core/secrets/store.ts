/**
 * Where a project's secrets live, behind one small interface (DESIGN.md §3): a 0600 JSON file under
 * DSTACK_HOME/server for the embedded daemon (src/daemon/secrets/file-store.ts); the team server's database
 * can implement the same. Reads are synchronous (the owning daemon keeps the secrets in memory); a write resolves
 * once it is durable.
 */
export interface SecretMeta {
  name: string;
  createdAt: number;
  updatedAt: number;
}

export interface SecretStore {
  /** The project's secrets without their values, by name. */
  list(project: string): SecretMeta[];
  /** name → value: what a replica's spec is resolved against. */
  values(project: string): ReadonlyMap<string, string>;
  /** Creates or replaces a secret. */
  set(project: string, name: string, value: string): Promise<{ secret: SecretMeta; created: boolean }>;
  /** Removes a secret; undefined when there was none. */
  delete(project: string, name: string): Promise<SecretMeta | undefined>;
  /** Every value of every project, so that the daemon's log can mask them. */
  allValues(): string[];
}
