/**
 * Google Compute Engine as a `Compute` (src/backends/compute.ts), on the real `@google-cloud/compute` loaded lazily
 * (client.ts). Offers come from the catalog (rows per zone) and need no credentials; an offer is one zone, so no
 * capacity there ends the offer and the caller tries the next (another zone, type or purchase option). Per daemon
 * life the SSH firewall rule is made once (firewall.ts) and each image family looked up once (images.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Offer } from '../../core/api.js';
import { InternalError } from '../../core/errors.js';
import type { Catalog, OfferFilters } from '../../core/catalog/types.js';
import type { GcpBackendConfig } from '../../core/home/backends-config.js';
import type { CloudInstance, Compute, CreateInstanceRequest, TaggedInstance } from '../compute.js';
import { Gce, type Env } from './client.js';
import { ensureSshFirewall } from './firewall.js';
import { archOf, findImage, imageKind, osImage, type Image } from './images.js';
import { insertBody, instanceNameOf, networkTag } from './instance-spec.js';
import { describe, listTagged, terminate } from './instances.js';
import { cloudConfig } from './user-data.js';

export interface GcpComputeOptions {
  config: GcpBackendConfig;
  /** dstack's project: names the network tag and firewall rule, and labels everything. */
  project: string;
  /** The daemon's environment: GOOGLE_APPLICATION_CREDENTIALS, DSTACK_GCP_ENDPOINT. */
  env: Env;
  /** This backend's index in `projects[].backends`, so errors name `config.yml projects[main].backends[0].creds`. */
  backendIndex?: number;
  loadCatalog: () => Promise<Catalog>;
  catalogOffers: (catalogs: Catalog[], filters: OfferFilters) => Offer[];
  /** The instance name's unique suffix (8 characters of [a-z0-9]); random by default. */
  suffix?: () => string;
}

const SSH_PORT = 22;

export class GcpCompute implements Compute {
  readonly kind = 'gcp';
  private readonly gce: Gce;
  private firewall: Promise<string> | undefined;
  private readonly images = new Map<string, Promise<Image>>();

  constructor(private readonly options: GcpComputeOptions) {
    const configPath = `config.yml projects[${options.project}].backends[${options.backendIndex ?? 0}].creds`;
    this.gce = new Gce({ config: options.config, env: options.env, configPath });
  }

  /** Catalog offers; `regions` in config.yml and the fleet's `regions` both hold, each naming regions or zones. */
  async offers(filters: OfferFilters): Promise<Offer[]> {
    const offers = this.options.catalogOffers([await this.options.loadCatalog()], filters);
    const configured = this.options.config.regions?.map((r) => r.toLowerCase());
    if (!configured) return offers;
    return offers.filter((o) => configured.includes(o.region.toLowerCase()) || (o.zone !== undefined && configured.includes(o.zone.toLowerCase())));
  }

  async createInstance(req: CreateInstanceRequest, signal?: AbortSignal): Promise<CloudInstance> {
    const zone = req.offer.zone;
    if (!zone) throw new InternalError('GCP_OFFER_WITHOUT_ZONE', `the gcp offer ${req.offer.instanceType} in ${req.offer.region} names no zone`);
    const { config } = this.options;
    const network = `projects/${config.project_id}/global/networks/${config.vpc_name ?? 'default'}`;
    const tag = networkTag(req.project);
    // Shared lookups run to the end for the other callers; an aborted caller just stops waiting for them.
    const firewall = await abortable(this.ensureFirewall(network, tag), signal);
    const kind = imageKind(req.offer.resources.gpus);
    const arch = archOf(req.offer.resources.arch);
    const os = osImage(config, kind, arch);
    const image = await abortable(this.memo(this.images, `${kind}/${arch}`, () => findImage(this.gce, os)), signal);
    const name = instanceNameOf(req.project, req.instanceName, this.options.suffix?.() ?? randomSuffix());
    const body = insertBody({ req, project: config.project_id, zone, name, image, user: os.user, userData: cloudConfig(kind, os.user), network, publicIp: config.public_ips });
    signal?.throwIfAborted();
    // The insert is not aborted: a request cut off mid-flight may still create a VM nobody knows of.
    await this.gce.call('instances.insert', zone, async (c) => {
      // requestId makes a retried insert (gax retries on 5xx) return the same operation, not a second VM.
      const [op] = await c.instances.insert({ project: config.project_id, zone, instanceResource: body, requestId: randomUUID() });
      await this.gce.wait(c, op.latestResponse, zone);
    });
    const created: CloudInstance = {
      instanceId: name,
      region: req.offer.region,
      zone,
      instanceType: req.offer.instanceType,
      spot: req.offer.spot,
      price: req.offer.price,
      user: os.user,
      sshPort: SSH_PORT,
      backendData: { zone, image: image.selfLink, firewall, networkTag: tag },
    };
    if (signal?.aborted) {
      await terminate(this.gce, created);
      signal.throwIfAborted();
    }
    return created;
  }

  describeInstance(instance: CloudInstance): ReturnType<Compute['describeInstance']> {
    return describe(this.gce, instance);
  }

  terminateInstance(instance: Pick<CloudInstance, 'instanceId' | 'region' | 'backendData'>): Promise<void> {
    return terminate(this.gce, instance);
  }

  /** Every VM of the GCP project labelled with this dstack project, in any zone (one aggregated list). */
  listTagged(project: string): Promise<TaggedInstance[]> {
    return listTagged(this.gce, project);
  }

  private ensureFirewall(network: string, tag: string): Promise<string> {
    if (!this.firewall) {
      const entry = ensureSshFirewall(this.gce, network, tag);
      entry.catch(() => (this.firewall = undefined));
      this.firewall = entry;
    }
    return this.firewall;
  }

  /** One lookup per key shared by concurrent callers; a failed one is forgotten so the next call tries again. */
  private memo<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
    let entry = cache.get(key);
    if (!entry) {
      entry = make();
      cache.set(key, entry);
      entry.catch(() => cache.delete(key));
    }
    return entry;
  }
}

function randomSuffix(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(8)].map((b) => alphabet[b % alphabet.length]).join('');
}

function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
