/**
 * The GCE clients of one GCP backend, on the real `@google-cloud/compute` (REST transport). The library is imported
 * lazily: it costs ~2 s and 276 MB, and the CLI and the daemon's start must never pay for it. Credentials and the
 * endpoint come from the backend's config and the env the daemon passes (the library alone reads `process.env`).
 * Every call goes through `call`, where GCE's errors are mapped to ours (errors.ts), and every mutation waits on its
 * operation here, so a failure reported only in the operation (no capacity, quota) is an error like any other.
 */
import { homedir } from 'node:os';
import type { InstancesClient, protos } from '@google-cloud/compute';
import type { GcpBackendConfig } from '../../core/home/backends-config.js';
import { credentialsError, GceOperationError, mapGceError } from './errors.js';

export type GcpSdk = typeof import('@google-cloud/compute');
export type Env = Readonly<Record<string, string | undefined>>;
export type Operation = protos.google.cloud.compute.v1.IOperation;

export interface Clients {
  instances: InstancesClient;
  zoneOperations: InstanceType<GcpSdk['ZoneOperationsClient']>;
  globalOperations: InstanceType<GcpSdk['GlobalOperationsClient']>;
  firewalls: InstanceType<GcpSdk['FirewallsClient']>;
  images: InstanceType<GcpSdk['ImagesClient']>;
}

export interface GceOptions {
  config: GcpBackendConfig;
  env: Env;
  /** Where the credentials come from, as error messages name it: `config.yml projects[main].backends[0].creds`. */
  configPath: string;
}

export class Gce {
  readonly project: string;
  readonly source: string;
  private clients: Promise<Clients> | undefined;

  constructor(private readonly options: GceOptions) {
    this.project = options.config.project_id;
    this.source = credentialSource(options.config, options.env, options.configPath);
  }

  /** Runs one GCE action; any failure comes back as our error type (OfferUnavailableError, UserError…). */
  async call<O>(action: string, where: string, fn: (c: Clients) => Promise<O>): Promise<O> {
    const clients = await this.load();
    try {
      // Cached by the auth client; asking first tells a credentials problem from an API one.
      await clients.instances.auth.getRequestHeaders();
    } catch (e) {
      throw credentialsError(e, this.source);
    }
    try {
      return await fn(clients);
    } catch (e) {
      throw mapGceError(e, { action, where, source: this.source, endpoint: this.options.env.DSTACK_GCP_ENDPOINT });
    }
  }

  /** Waits for a zone (or, without `zone`, global) operation to finish; a failed one throws GceOperationError. */
  async wait(c: Clients, op: unknown, zone?: string): Promise<Operation> {
    // The library types a mutation's answer as a generic long-running operation; on GCE it is a compute Operation.
    let cur = (op ?? {}) as Operation;
    while (cur.status !== 'DONE') {
      if (!cur.name) throw new Error('GCE answered an operation without a name');
      const request = { project: this.project, operation: cur.name };
      [cur] = zone ? await c.zoneOperations.wait({ ...request, zone }) : await c.globalOperations.wait(request);
    }
    const first = cur.error?.errors?.[0];
    if (first) throw new GceOperationError(first.code ?? 'UNKNOWN', first.message ?? cur.httpErrorMessage ?? '', cur.httpErrorStatusCode ?? undefined);
    return cur;
  }

  private load(): Promise<Clients> {
    if (!this.clients) {
      const entry = import('@google-cloud/compute').then((sdk) => makeClients(namedExports(sdk), clientOptions(this.options)));
      entry.catch(() => (this.clients = undefined));
      this.clients = entry;
    }
    return this.clients;
  }
}

/**
 * The package is CommonJS: Node's ESM loader gives its exports by name, but the bundled binary's lazy chunk gives
 * them only as `default` (esbuild's interop), where `sdk.InstancesClient` would be undefined.
 */
function namedExports(sdk: GcpSdk): GcpSdk {
  return typeof sdk.InstancesClient === 'function' ? sdk : (sdk as unknown as { default: GcpSdk }).default;
}

type ClientOptions = NonNullable<ConstructorParameters<GcpSdk['InstancesClient']>[0]>;

function makeClients(sdk: GcpSdk, options: ClientOptions): Clients {
  const instances = new sdk.InstancesClient(options);
  // As Google's gRPC clients do: a service account key signs its own scoped JWT (no token endpoint round trip; the
  // REST transport would otherwise post to oauth2.googleapis.com whatever the key's token_uri says).
  instances.auth.useJWTAccessWithScope = true;
  // One auth client for all: one token fetch, one cache.
  const shared = { ...options, auth: instances.auth };
  return {
    instances,
    zoneOperations: new sdk.ZoneOperationsClient(shared),
    globalOperations: new sdk.GlobalOperationsClient(shared),
    firewalls: new sdk.FirewallsClient(shared),
    images: new sdk.ImagesClient(shared),
  };
}

/** The key file, the project, and for tests and development `DSTACK_GCP_ENDPOINT=http://host:port`. */
export function clientOptions(o: GceOptions): ClientOptions {
  const keyFilename = keyFileOf(o.config, o.env);
  const endpoint = endpointOf(o.env);
  return {
    projectId: o.config.project_id,
    fallback: true,
    ...(keyFilename ? { keyFilename } : {}),
    ...(endpoint ? { apiEndpoint: endpoint.hostname, port: endpoint.port, protocol: endpoint.protocol } : {}),
  };
}

export function endpointOf(env: Env): { hostname: string; port: number; protocol: 'http' | 'https' } | undefined {
  const raw = env.DSTACK_GCP_ENDPOINT;
  if (!raw) return undefined;
  const url = new URL(raw);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { hostname: url.hostname, port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}

/** `service_account` names its file; `default` takes GOOGLE_APPLICATION_CREDENTIALS from the env we were given. */
function keyFileOf(config: GcpBackendConfig, env: Env): string | undefined {
  if (config.creds.type === 'service_account') return expandHome(config.creds.filename, env);
  const fromEnv = env.GOOGLE_APPLICATION_CREDENTIALS;
  return fromEnv && fromEnv.length > 0 ? fromEnv : undefined;
}

function expandHome(path: string, env: Env): string {
  return path === '~' || path.startsWith('~/') ? `${env.HOME ?? homedir()}${path.slice(1)}` : path;
}

function credentialSource(config: GcpBackendConfig, env: Env, configPath: string): string {
  if (config.creds.type === 'service_account') return `${configPath} (service account key ${config.creds.filename})`;
  if (env.GOOGLE_APPLICATION_CREDENTIALS) return `GOOGLE_APPLICATION_CREDENTIALS (${env.GOOGLE_APPLICATION_CREDENTIALS})`;
  return 'Application Default Credentials (gcloud auth application-default login, or the metadata server)';
}
