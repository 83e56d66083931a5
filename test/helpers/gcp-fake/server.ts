// A fake of the Compute Engine v1 REST API (test code; DESIGN.md §6 "Clouds"): node:http on 127.0.0.1, state in
// memory, real request and response shapes, so the real @google-cloud/compute client (REST fallback transport)
// and google-auth-library run unchanged against it. Unknown paths answer 404 naming the method and path, and
// every request is logged, so a backend calling something the fake lacks fails visibly.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeAuth, type BearerKind } from './auth.js';
import { API_BASE, DEFAULT_ACCELERATOR_TYPES, DEFAULT_IMAGES, DEFAULT_MACHINE_TYPES, DEFAULT_ZONES, type FakeAcceleratorType, type FakeImage, type FakeMachineType } from './catalog.js';
import { ApiError, unauthenticated } from './errors.js';
import { FakeFirewalls } from './firewalls.js';
import { FakeInstances, type GcpDelays } from './instances.js';
import { Operations } from './operations.js';
import { route, type Ctx } from './routes.js';

export type { BearerKind } from './auth.js';
export { UNASSIGNED_GCP_ADDRESS, type GcpDelays } from './instances.js';
export type { FakeAcceleratorType, FakeImage, FakeMachineType } from './catalog.js';

export interface GcpFakeOptions {
  /** Default `dstack-test`. */
  project?: string;
  /** Namespace-host addresses given to instances, one each, as networkIP and natIP. */
  addresses: readonly string[];
  zones?: string[];
  machineTypes?: FakeMachineType[];
  acceleratorTypes?: FakeAcceleratorType[];
  images?: FakeImage[];
  delays?: Partial<GcpDelays>;
}

export interface GcpRequest {
  method: string;
  /** Path without the query, e.g. /compute/v1/projects/p/zones/z/instances. */
  path: string;
  query: Record<string, string>;
  body?: unknown;
  status: number;
  /** The bearer the request carried (the token endpoint's own requests: none). */
  bearer: BearerKind;
  /** true when no route matched (the 404 names method and path). */
  unknown?: boolean;
}

export interface GcpFake {
  /** http://127.0.0.1:PORT, the value for DSTACK_GCP_ENDPOINT. */
  endpoint: string;
  port: number;
  project: string;
  /** A service-account key file whose token_uri is this fake's /token. */
  credentialsFile: string;
  clientEmail: string;
  /** A bearer the fake accepts, for an OAuth2Client with setCredentials({access_token}). */
  staticToken: string;
  /** Options for any @google-cloud/compute client: `{apiEndpoint, port, protocol: 'http'}` (add authClient). */
  clientOptions: { apiEndpoint: string; port: number; protocol: 'http' };
  requests: GcpRequest[];
  /** Logged requests whose method matches and whose path matches `path` (a RegExp or a substring). */
  requestsTo(method: string, path: RegExp | string): GcpRequest[];
  /** Every instance in its current state (status computed from the delays). */
  instances(): Record<string, unknown>[];
  /** Inserts in `zone` (optionally only spot / only one machine type) end DONE with `code` and create nothing. */
  failZone(zone: string, code?: string, match?: { spot?: boolean; machineType?: string }): void;
  /** Quota refusal on every insert while on: an HTTP 403 (default) or the insert operation's QUOTA_EXCEEDED. */
  quotaExceeded(on: boolean, options?: { via?: 'http' | 'operation'; metric?: string }): void;
  clearFaults(): void;
  preempt(name: string): void;
  deleteBehindBack(name: string): void;
  /** Every token issued so far (static, /token, self-signed JWTs) answers 401 from now on. */
  expireTokens(): void;
  setDelays(delays: Partial<GcpDelays>): void;
  close(): Promise<void>;
}

const DEFAULT_DELAYS: GcpDelays = { provisioningMs: 20, stagingMs: 20, insertMs: 20, deleteMs: 20 };

export async function startGcpFake(options: GcpFakeOptions): Promise<GcpFake> {
  const project = options.project ?? 'dstack-test';
  const delays = { ...DEFAULT_DELAYS, ...options.delays };
  const ops = new Operations();
  const zones = options.zones ?? DEFAULT_ZONES;
  const catalog = {
    zones,
    machineTypes: options.machineTypes ?? DEFAULT_MACHINE_TYPES,
    acceleratorTypes: options.acceleratorTypes ?? DEFAULT_ACCELERATOR_TYPES,
    images: options.images ?? DEFAULT_IMAGES,
  };
  const instances = new FakeInstances({ ops, ...catalog, addresses: [...options.addresses], delays });
  const firewalls = new FakeFirewalls(ops, () => delays.insertMs);
  const requests: GcpRequest[] = [];
  const waits = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  let auth: FakeAuth | undefined;
  let tokenUri = '';

  const ctx: Omit<Ctx, 'project' | 'query' | 'body'> = {
    ops,
    instances,
    firewalls,
    catalog,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const w = { timer: setTimeout(() => (waits.delete(w), resolve()), ms), resolve };
        waits.add(w);
      }),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const raw = await readBody(req);
    const entry: GcpRequest = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), status: 0, bearer: 'none' };
    requests.push(entry);
    const send = (status: number, body: unknown): void => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...(status === 401 ? { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' } : {}) });
      res.end(JSON.stringify(body));
    };
    try {
      if (entry.method === 'POST' && url.pathname === '/token') {
        const r = (auth as FakeAuth).grant(new URLSearchParams(raw), tokenUri);
        return send(r.status, r.body);
      }
      const body = raw.length > 0 ? (JSON.parse(raw) as unknown) : undefined;
      entry.body = body;
      const m = /^\/compute\/v1\/projects\/([^/]+)\/(.+)$/.exec(url.pathname);
      if (m) entry.bearer = (auth as FakeAuth).check(req.headers.authorization);
      if (m && (entry.bearer === 'none' || entry.bearer === 'rejected')) throw unauthenticated();
      const result = m ? await route(entry.method, m[2] as string, { ...ctx, project: m[1] as string, query: url.searchParams, body: body as Record<string, unknown> | undefined }) : undefined;
      if (result === undefined) {
        entry.unknown = true;
        return send(404, { error: { code: 404, message: `gcp-fake: no route for ${entry.method} ${url.pathname}`, errors: [{ message: `gcp-fake: no route for ${entry.method} ${url.pathname}`, domain: 'global', reason: 'notFound' }] } });
      }
      send(200, result);
    } catch (e) {
      if (e instanceof ApiError) return send(e.status, e.body());
      send(500, { error: { code: 500, message: `gcp-fake: ${(e as Error).stack ?? String(e)}`, errors: [{ message: String(e), domain: 'global', reason: 'backendError' }] } });
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  tokenUri = `${endpoint}/token`;
  auth = new FakeAuth(project, tokenUri);
  const account = auth.account;

  return {
    endpoint,
    port,
    project,
    credentialsFile: account.credentialsFile,
    clientEmail: account.clientEmail,
    staticToken: account.staticToken,
    clientOptions: { apiEndpoint: '127.0.0.1', port, protocol: 'http' },
    requests,
    requestsTo: (method, path) => requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path.includes(path) : path.test(r.path))),
    instances: () => instances.snapshot(),
    failZone: (zone, code = 'ZONE_RESOURCE_POOL_EXHAUSTED', match = {}) => void instances.zoneFaults.push({ zone, code, ...match }),
    quotaExceeded: (on, o = {}) => {
      instances.quota = on ? { via: o.via ?? 'http', metric: o.metric ?? 'GPUS_ALL_REGIONS' } : undefined;
    },
    clearFaults: () => {
      instances.zoneFaults.length = 0;
      instances.quota = undefined;
    },
    preempt: (name) => instances.preempt(name),
    deleteBehindBack: (name) => instances.deleteBehindBack(name),
    expireTokens: () => auth?.expireTokens(),
    setDelays: (d) => void Object.assign(delays, d),
    close: async () => {
      for (const w of waits) {
        clearTimeout(w.timer);
        w.resolve();
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      account.dispose();
    },
  };
}

export { API_BASE };

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
