/**
 * AWS EC2 as a `Compute` (src/backends/compute.ts), on the real `@aws-sdk/client-ec2` loaded lazily (client.ts).
 * Offers come from the catalog and need no credentials; everything else calls EC2 in the offer's or instance's
 * region. Per project and region, the key pair and security group are made once (resources.ts); per offer, the
 * image is found by name (images.ts) and the instance launched zone by zone (launch.ts).
 */
import type { Offer } from '../../core/api.js';
import type { Catalog, OfferFilters } from '../../core/catalog/types.js';
import type { AwsBackendConfig } from '../../core/home/backends-config.js';
import type { CloudInstance, Compute, CreateInstanceRequest, TaggedInstance } from '../compute.js';
import { Ec2, type Env } from './client.js';
import { archOf, cloudConfig, imageKind } from '../cloud/image.js';
import { findImage, osImage, type Image } from './images.js';
import { addressOf, describe, listTagged, terminate } from './instances.js';
import { candidateZones, launchInZones, type LaunchSpec } from './launch.js';
import { checkReservation } from './reservation.js';
import { ensureRegionResources, type RegionResources } from './resources.js';

export interface AwsComputeOptions {
  config: AwsBackendConfig;
  /** dstack's project: names the key pair and security group, and tags everything. */
  project: string;
  /** The daemon's environment: AWS_* credentials, AWS_PROFILE, AWS_ENDPOINT_URL(_EC2). */
  env: Env;
  /** This backend's index in `projects[].backends`, so errors name `config.yml projects[main].backends[0].creds`. */
  backendIndex?: number;
  /** The aws catalog (shipped, or refreshed under DSTACK_HOME/server/catalog). */
  loadCatalog: () => Promise<Catalog>;
  /** Offers of the catalogs that pass the filters, sorted by price (src/core/catalog). */
  catalogOffers: (catalogs: Catalog[], filters: OfferFilters) => Offer[];
}

const SSH_PORT = 22;

export class AwsCompute implements Compute {
  readonly kind = 'aws';
  private readonly ec2: Ec2;
  private readonly regionResources = new Map<string, Promise<RegionResources>>();
  private readonly images = new Map<string, Promise<Image>>();

  constructor(private readonly options: AwsComputeOptions) {
    const configPath = `config.yml projects[${options.project}].backends[${options.backendIndex ?? 0}].creds`;
    this.ec2 = new Ec2({ config: options.config, env: options.env, configPath });
  }

  async offers(filters: OfferFilters): Promise<Offer[]> {
    const configured = this.options.config.regions;
    const regions = configured && filters.regions ? filters.regions.filter((r) => configured.includes(r)) : (filters.regions ?? configured);
    if (regions?.length === 0) return [];
    return this.options.catalogOffers([await this.options.loadCatalog()], { ...filters, ...(regions ? { regions } : {}) });
  }

  async createInstance(req: CreateInstanceRequest, signal?: AbortSignal): Promise<CloudInstance> {
    const region = req.offer.region;
    const { config } = this.options;
    // Shared lookups run to the end for the other callers; an aborted caller just stops waiting for them.
    const resources = await abortable(this.resourcesIn(region, req.sshPublicKey), signal);
    const kind = imageKind(req.offer.resources.gpus);
    const arch = archOf(req.offer.resources.arch);
    const os = osImage(config, kind, arch);
    const image = await abortable(this.memo(this.images, `${region}/${kind}/${arch}`, () => findImage(this.ec2, region, os, arch)), signal);
    const reservation = req.reservation ? await checkReservation(this.ec2, region, req.reservation, req.offer.instanceType, signal) : undefined;
    const spec: LaunchSpec = { req, image, resources, userData: cloudConfig(kind, os.user), ...(reservation ? { reservation } : {}) };
    const zones = await candidateZones(this.ec2, region, spec, signal);
    signal?.throwIfAborted();
    // RunInstances itself is not aborted: a request cut off mid-flight may still create an instance nobody knows of.
    const instance = await launchInZones(this.ec2, region, spec, zones);
    const created: CloudInstance = {
      instanceId: instance.InstanceId ?? '',
      region,
      ...(instance.Placement?.AvailabilityZone ? { zone: instance.Placement.AvailabilityZone } : {}),
      instanceType: req.offer.instanceType,
      spot: req.offer.spot,
      price: req.offer.price,
      user: os.user,
      sshPort: SSH_PORT,
      ...addressOf(instance),
      backendData: {
        imageId: image.imageId,
        keyName: resources.keyName,
        securityGroupId: resources.groupId,
        ...(instance.SpotInstanceRequestId ? { spotInstanceRequestId: instance.SpotInstanceRequestId } : {}),
        ...(reservation ? { reservation: reservation.id } : {}),
      },
    };
    if (signal?.aborted) {
      await terminate(this.ec2, created);
      signal.throwIfAborted();
    }
    return created;
  }

  describeInstance(instance: CloudInstance): ReturnType<Compute['describeInstance']> {
    return describe(this.ec2, instance);
  }

  terminateInstance(instance: Pick<CloudInstance, 'instanceId' | 'region' | 'backendData'>): Promise<void> {
    return terminate(this.ec2, instance);
  }

  async listTagged(project: string): Promise<TaggedInstance[]> {
    const regions = this.options.config.regions ?? catalogRegions(await this.options.loadCatalog());
    const perRegion = await Promise.all(regions.map((region) => listTagged(this.ec2, region, project)));
    return perRegion.flat();
  }

  private resourcesIn(region: string, publicKey: string): Promise<RegionResources> {
    return this.memo(this.regionResources, region, () => ensureRegionResources(this.ec2, region, this.options.project, publicKey));
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

function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export function catalogRegions(catalog: Catalog): string[] {
  return [...new Set(catalog.items.map((i) => i.location))].sort();
}
