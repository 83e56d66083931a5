// Global firewalls: get (404 when absent), insert (→ global Operation; 409 alreadyExists for a taken name, as GCE
// answers synchronously), delete and list.
import { API_BASE, stableId } from './catalog.js';
import { alreadyExists, invalid, notFound } from './errors.js';
import type { Operations } from './operations.js';

type Json = Record<string, unknown>;

export class FakeFirewalls {
  private readonly all = new Map<string, Json>();

  constructor(
    private readonly ops: Operations,
    private readonly delayMs: () => number,
  ) {}

  insert(project: string, body: Json): Json {
    const name = String(body.name ?? '');
    if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) throw invalid('resource.name', name, "Must be a match of regex '[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?'");
    const key = `${project}/${name}`;
    if (this.all.has(key)) throw alreadyExists(`projects/${project}/global/firewalls/${name}`);
    if (!Array.isArray(body.allowed) && !Array.isArray(body.denied)) throw invalid('resource.allowed', '', 'Exactly one of allowed or denied must be specified.');
    const selfLink = `${API_BASE}/projects/${project}/global/firewalls/${name}`;
    const json: Json = {
      kind: 'compute#firewall',
      id: stableId(`${selfLink}/${Date.now()}`),
      creationTimestamp: new Date().toISOString(),
      name,
      ...(body.description ? { description: body.description } : {}),
      network: `${API_BASE}/projects/${project}/global/networks/${String(body.network ?? 'default').split('/').pop()}`,
      priority: body.priority ?? 1000,
      sourceRanges: body.sourceRanges ?? (body.sourceTags ? undefined : ['0.0.0.0/0']),
      ...(body.sourceTags ? { sourceTags: body.sourceTags } : {}),
      ...(body.targetTags ? { targetTags: body.targetTags } : {}),
      ...(body.allowed ? { allowed: body.allowed } : {}),
      ...(body.denied ? { denied: body.denied } : {}),
      direction: body.direction ?? 'INGRESS',
      logConfig: { enable: false },
      disabled: body.disabled ?? false,
      selfLink,
    };
    // Visible at once: GCE reserves the name when it accepts the insert, hence the synchronous 409 for a second one.
    this.all.set(key, json);
    const op = this.ops.start({ project, operationType: 'insert', targetLink: selfLink, targetId: String(json.id), delayMs: this.delayMs() });
    return this.ops.json(op);
  }

  get(project: string, name: string): Json {
    const fw = this.all.get(`${project}/${name}`);
    if (!fw) throw notFound(`projects/${project}/global/firewalls/${name}`);
    return structuredClone(fw);
  }

  delete(project: string, name: string): Json {
    const fw = this.get(project, name);
    const op = this.ops.start({ project, operationType: 'delete', targetLink: String(fw.selfLink), targetId: String(fw.id), delayMs: this.delayMs(), onDone: () => this.all.delete(`${project}/${name}`) });
    return this.ops.json(op);
  }

  list(project: string): Json[] {
    return [...this.all.entries()].filter(([k]) => k.startsWith(`${project}/`)).map(([, v]) => structuredClone(v));
  }
}
