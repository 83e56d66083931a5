/**
 * Google Compute Engine as a `Compute` (src/backends/compute.ts), on the real `@google-cloud/compute` loaded lazily
 * (client.ts). Offers come from the catalog and need no credentials: one per region, its zones in `zones` (catalog
 * rows are per zone; collapseZones). Creating tries the offer's zones in turn and moves on when one is exhausted;
 * only when all are does the caller try the next offer (another region, type or purchase option). Per daemon life
 * the SSH firewall rule is made once (firewall.ts) and each image family looked up once (images.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Offer } from '../../core/api.js';
import { InternalError } from '../../core/errors.js';
import type { Catalog, OfferFilters } from '../../core/catalog/types.js';
import type { GcpBackendConfig } from '../../core/home/backends-config.js';
import { restrictRegions } from '../../core/catalog/offers.js';
import { OfferUnavailableError, type CloudInstance, type Compute, type CreateInstanceRequest, type TaggedInstance } from '../compute.js';
import { Gce, type Env } from './client.js';
import { ensureSshFirewall } from './firewall.js';
import { archOf, cloudConfig, imageKind } from '../cloud/image.js';
import { findImage, osImage, type Image } from './images.js';
import { insertBody, instanceNameOf, networkTag } from './instance-spec.js';
import { describe, listTagged, terminate } from './instances.js';

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

  /**
   * Catalog offers; `regions` in config.yml and the fleet's `regions` both hold, each naming regions or zones. The
   * configured ones narrow the rows before they become offers, so a configured zone leaves its region's others out.
   */
  async offers(filters: OfferFilters): Promise<Offer[]> {
    const catalog = restrictRegions(await this.options.loadCatalog(), this.options.config.regions);
    return this.options.catalogOffers([catalog], filters);
  }

  async createInstance(req: CreateInstanceRequest, signal?: AbortSignal): Promise<CloudInstance> {
    const zones = req.offer.zones ?? (req.offer.zone ? [req.offer.zone] : []);
    if (zones.length === 0) throw new InternalError('GCP_OFFER_WITHOUT_ZONE', `the gcp offer ${req.offer.instanceType} in ${req.offer.region} names no zone`);
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
    const spec = { req, project: config.project_id, name, image, user: os.user, userData: cloudConfig(kind, os.user), network, publicIp: config.public_ips };
    const exhausted: OfferUnavailableError[] = [];
    let zone: string | undefined;
    for (const candidate of zones) {
      signal?.throwIfAborted();
      const body = insertBody({ ...spec, zone: candidate });
      try {
        // The insert is not aborted: a request cut off mid-flight may still create a VM nobody knows of.
        await this.gce.call('instances.insert', candidate, async (c) => {
          // requestId makes a retried insert (gax retries on 5xx) return the same operation, not a second VM.
          const [op] = await c.instances.insert({ project: config.project_id, zone: candidate, instanceResource: body, requestId: randomUUID() });
          await this.gce.wait(c, op.latestResponse, candidate);
        });
        zone = candidate;
        break;
      } catch (e) {
        // Quota is per region or project, the same in every zone; only a zone's own shortage is worth the next zone.
        if (!(e instanceof OfferUnavailableError) || e.kind !== 'no_capacity') throw e;
        exhausted.push(e);
      }
    }
    if (zone === undefined) throw zonesExhausted(zones, exhausted);
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

/** Every zone of the offer was out of capacity: one error for the offer, naming the zones in the order tried. */
function zonesExhausted(zones: readonly string[], errors: readonly OfferUnavailableError[]): OfferUnavailableError {
  const last = errors.at(-1);
  const code = last?.providerCode ?? 'ZONE_RESOURCE_POOL_EXHAUSTED';
  if (errors.length === 1 && last) return last;
  return new OfferUnavailableError('no_capacity', code, `no capacity in any zone tried (${zones.join(', ')}): ${errors.map((e) => e.message).join('; ')}`);
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
