/**
 * The models published by running services (`model:` set), for the /proxy/models endpoint. Read straight from
 * state on every call: a handful of runs, and always current.
 */
import type { ModelEntry, ModelRegistry } from '../../proxy/contracts.js';
import type { RunRecord } from '../../core/state/schema.js';

export class StateModelRegistry implements ModelRegistry {
  constructor(private readonly runs: () => readonly RunRecord[]) {}

  list(project: string): ModelEntry[] {
    const newest = new Map<string, ModelEntry>();
    for (const entry of this.entries(project)) {
      const seen = newest.get(entry.name);
      if (!seen || seen.createdAt < entry.createdAt) newest.set(entry.name, entry);
    }
    return [...newest.values()];
  }

  find(project: string, name: string): ModelEntry | undefined {
    return this.list(project).find((m) => m.name === name);
  }

  private entries(project: string): ModelEntry[] {
    return this.runs().flatMap((r) => {
      const m = r.settings.model;
      if (r.project !== project || r.status !== 'running' || !m) return [];
      const entry: ModelEntry = { project, name: m.name, run: r.name, format: m.format, prefix: m.prefix, createdAt: r.submittedAt };
      if (m.chatTemplate !== undefined) entry.chatTemplate = m.chatTemplate;
      if (m.eosToken !== undefined) entry.eosToken = m.eosToken;
      if (m.bosToken !== undefined) entry.bosToken = m.bosToken;
      return [entry];
    });
  }
}
