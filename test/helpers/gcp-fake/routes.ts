// The REST paths under /compute/v1/projects/{project}/, as google-gax's transcoding of compute's protos sends
// them. undefined = no such route (the server answers 404 naming it).
import { acceleratorTypeJson, API_BASE, imageJson, machineTypeJson, zoneJson, type FakeAcceleratorType, type FakeImage, type FakeMachineType } from './catalog.js';
import { notFound } from './errors.js';
import type { FakeFirewalls } from './firewalls.js';
import { matchesFilter } from './filter.js';
import type { FakeInstances } from './instances.js';
import type { Operations } from './operations.js';

type Json = Record<string, unknown>;

export interface Ctx {
  project: string;
  query: URLSearchParams;
  body: Json | undefined;
  ops: Operations;
  instances: FakeInstances;
  firewalls: FakeFirewalls;
  catalog: { zones: string[]; machineTypes: FakeMachineType[]; acceleratorTypes: FakeAcceleratorType[]; images: FakeImage[] };
  sleep(ms: number): Promise<void>;
}

/** GCE's zoneOperations.wait returns once DONE or after about 2 minutes; the fake caps it lower for tests. */
const MAX_WAIT_MS = 10_000;

export async function route(method: string, rest: string, c: Ctx): Promise<unknown> {
  const p = c.project;
  const seg = rest.split('/');
  const is = (m: string, pattern: string): boolean => m === method && matches(seg, pattern);
  const z = seg[1] as string;
  const base = `${API_BASE}/projects/${p}/${rest}`;
  if (seg[0] === 'zones' && seg.length > 1 && !c.catalog.zones.includes(z)) throw notFound(`projects/${p}/zones/${z}`);

  if (is('GET', 'zones')) return list('compute#zoneList', base, c, c.catalog.zones.map((zone) => zoneJson(p, zone)));
  if (is('GET', 'zones/*')) return zoneJson(p, z);
  if (is('POST', 'zones/*/instances')) return c.instances.insert(p, z, c.body ?? {}, c.query.get('requestId') ?? undefined);
  if (is('GET', 'zones/*/instances')) return list('compute#instanceList', base, c, c.instances.list(p, z));
  if (is('GET', 'zones/*/instances/*')) return c.instances.get(p, z, seg[3] as string);
  if (is('DELETE', 'zones/*/instances/*')) return c.instances.delete(p, z, seg[3] as string);
  if (is('GET', 'aggregated/instances')) return aggregated('compute#instanceAggregatedList', 'instances', base, c, (zone) => c.instances.list(p, zone));

  if (is('GET', 'zones/*/operations')) return list('compute#operationList', base, c, c.ops.list(p, z).map((o) => c.ops.json(o)));
  if (is('GET', 'zones/*/operations/*') || is('POST', 'zones/*/operations/*/wait')) return operation(c, z, seg[3] as string, seg.length === 5);
  if (is('GET', 'global/operations')) return list('compute#operationList', base, c, c.ops.list(p, undefined).map((o) => c.ops.json(o)));
  if (is('GET', 'global/operations/*') || is('POST', 'global/operations/*/wait')) return operation(c, undefined, seg[2] as string, seg.length === 4);

  if (is('GET', 'global/firewalls')) return list('compute#firewallList', base, c, c.firewalls.list(p));
  if (is('POST', 'global/firewalls')) return c.firewalls.insert(p, c.body ?? {});
  if (is('GET', 'global/firewalls/*')) return c.firewalls.get(p, seg[2] as string);
  if (is('DELETE', 'global/firewalls/*')) return c.firewalls.delete(p, seg[2] as string);

  if (is('GET', 'global/images/family/*')) return image(c, (i) => i.family === seg[3], `projects/${p}/global/images/family/${seg[3]}`);
  if (is('GET', 'global/images/*')) return image(c, (i) => i.name === seg[2], `projects/${p}/global/images/${seg[2]}`);

  if (is('GET', 'zones/*/machineTypes')) return list('compute#machineTypeList', base, c, c.catalog.machineTypes.map((t) => machineTypeJson(p, z, t)));
  if (is('GET', 'zones/*/machineTypes/*')) {
    const t = c.catalog.machineTypes.find((x) => x.name === seg[3]);
    if (!t) throw notFound(`projects/${p}/zones/${z}/machineTypes/${seg[3]}`);
    return machineTypeJson(p, z, t);
  }
  if (is('GET', 'aggregated/machineTypes')) return aggregated('compute#machineTypeAggregatedList', 'machineTypes', base, c, (zone) => c.catalog.machineTypes.map((t) => machineTypeJson(p, zone, t)));
  if (is('GET', 'zones/*/acceleratorTypes')) return list('compute#acceleratorTypeList', base, c, c.catalog.acceleratorTypes.map((t) => acceleratorTypeJson(p, z, t)));
  if (is('GET', 'zones/*/acceleratorTypes/*')) {
    const t = c.catalog.acceleratorTypes.find((x) => x.name === seg[3]);
    if (!t) throw notFound(`projects/${p}/zones/${z}/acceleratorTypes/${seg[3]}`);
    return acceleratorTypeJson(p, z, t);
  }
  if (is('GET', 'aggregated/acceleratorTypes')) return aggregated('compute#acceleratorTypeAggregatedList', 'acceleratorTypes', base, c, (zone) => c.catalog.acceleratorTypes.map((t) => acceleratorTypeJson(p, zone, t)));
  return undefined;
}

function matches(seg: string[], pattern: string): boolean {
  const parts = pattern.split('/');
  return parts.length === seg.length && parts.every((x, i) => x === '*' || x === seg[i]);
}

async function operation(c: Ctx, zone: string | undefined, name: string, wait: boolean): Promise<Json> {
  const scope = zone ? `zones/${zone}` : 'global';
  const op = c.ops.find(c.project, zone, name);
  if (!op) throw notFound(`projects/${c.project}/${scope}/operations/${name}`);
  if (wait && c.ops.remaining(op) > 0) {
    await c.sleep(Math.min(c.ops.remaining(op), MAX_WAIT_MS));
    c.ops.settle();
  }
  return c.ops.json(op);
}

function image(c: Ctx, pick: (i: FakeImage) => boolean, resource: string): Json {
  const found = c.catalog.images.find((i) => i.project === c.project && pick(i));
  if (!found) throw notFound(resource);
  return imageJson(found);
}

/** filter, then maxResults/pageToken (an offset, opaque to the client); `items` is left out when empty, as GCE does. */
function list(kind: string, selfLink: string, c: Ctx, all: Json[]): Json {
  const filtered = all.filter((r) => matchesFilter(r, c.query.get('filter') ?? undefined));
  const max = Number(c.query.get('maxResults') ?? 500) || 500;
  const start = Number(Buffer.from(c.query.get('pageToken') ?? '', 'base64url').toString() || 0);
  const page = filtered.slice(start, start + max);
  const next = start + max < filtered.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
  return { kind, id: selfLink.replace(`${API_BASE}/`, ''), ...(page.length > 0 ? { items: page } : {}), selfLink, ...(next ? { nextPageToken: next } : {}) };
}

function aggregated(kind: string, field: string, selfLink: string, c: Ctx, perZone: (zone: string) => Json[]): Json {
  const filter = c.query.get('filter') ?? undefined;
  const items: Record<string, Json> = {};
  for (const zone of c.catalog.zones) {
    const scope = `zones/${zone}`;
    const found = perZone(zone).filter((r) => matchesFilter(r, filter));
    items[scope] =
      found.length > 0
        ? { [field]: found }
        : { warning: { code: 'NO_RESULTS_ON_PAGE', message: `There are no results for scope '${scope}' on this page.`, data: [{ key: 'scope', value: scope }] } };
  }
  return { kind, id: selfLink.replace(`${API_BASE}/`, ''), items, selfLink };
}
