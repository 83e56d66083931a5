/**
 * A cloud provider's VM API (dstack `backends/base/compute.py`): offers from the catalog, create, wait for an
 * address, terminate, and list what dstack tagged. A cloud backend (src/backends/cloud) pairs a `Compute` with the SSH
 * bootstrap SSH fleets already have: once a VM has an address it is an SSH host, reached, checked and provisioned by
 * the same code. Implementations: src/backends/aws (EC2). GCP comes next on the same interface.
 */
import type { Offer } from '../core/api.js';
import type { OfferFilters } from '../core/catalog/types.js';
import type { Json } from '../core/model/json.js';

/** What dstack asks a cloud for: one instance for one fleet, on one offer. */
export interface CreateInstanceRequest {
  /** dstack's project, fleet and instance names: every resource created for it carries them as tags/labels. */
  project: string;
  fleet: string;
  instanceName: string;
  offer: Offer;
  /** Root disk size in GiB (from `resources.disk`, at least the image's own size). */
  diskGiB: number;
  /** OpenSSH public key line (`ssh-ed25519 AAAA… dstack`) of the project's key: the only way in. */
  sshPublicKey: string;
  /** AWS capacity reservation id (`cr-…`), from `reservation`. */
  reservation?: string;
  /** `max_price`: a spot request never bids above it. */
  maxPrice?: number;
}

/** A created instance, as stored on its InstanceRecord (`cloud`) so the daemon can find it again after a restart. */
export interface CloudInstance {
  instanceId: string;
  region: string;
  zone?: string;
  instanceType: string;
  spot: boolean;
  /** Dollars per hour, from the offer. */
  price: number;
  /** SSH user and port of the image. */
  user: string;
  sshPort: number;
  /** Public (or else private) address, once the provider assigned one. */
  hostname?: string;
  internalIp?: string;
  /** The provider's own data (AWS: security group, key pair name, spot request id…). */
  backendData?: Json;
}

export type CloudInstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

/** One instance found by its dstack tags (the sweep terminates those no state record owns). */
export interface TaggedInstance {
  instanceId: string;
  region: string;
  state: CloudInstanceState;
  /** The `dstack_instance` and `dstack_fleet` tags. */
  instanceName?: string;
  fleet?: string;
  /** Spot instances interrupted by the provider say so (`instance-terminated-no-capacity`, `Server.SpotInstanceTermination`). */
  stateReason?: string;
}

/**
 * An offer that cannot be had right now (no capacity in the zone, quota, price above max_price). Provisioning moves
 * on to the next offer and shows `reason`; any other error stops provisioning of that instance.
 */
export class OfferUnavailableError extends Error {
  constructor(
    readonly kind: 'no_capacity' | 'no_quota' | 'price' | 'unsupported',
    /** The provider's error code, e.g. `InsufficientInstanceCapacity`, `VcpuLimitExceeded`. */
    readonly providerCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'OfferUnavailableError';
  }
}

export interface Compute {
  /** The backend type in config.yml and on offers and instance records: `aws`, `gcp`. */
  readonly kind: string;
  /** Offers from the catalog, filtered and sorted by price; works without credentials. */
  offers(filters: OfferFilters): Promise<Offer[]>;
  /** Creates the instance (and once per project and region: key pair, security group); throws OfferUnavailableError to try the next offer. */
  createInstance(req: CreateInstanceRequest, signal?: AbortSignal): Promise<CloudInstance>;
  /** The instance as the provider sees it now (address once known); undefined when it no longer exists. */
  describeInstance(instance: CloudInstance): Promise<{ state: CloudInstanceState; hostname?: string; internalIp?: string; stateReason?: string } | undefined>;
  /** Terminates it; an instance that is already gone is success. */
  terminateInstance(instance: Pick<CloudInstance, 'instanceId' | 'region' | 'backendData'>): Promise<void>;
  /** Every instance tagged with this dstack project, in every configured region. */
  listTagged(project: string): Promise<TaggedInstance[]>;
}

/**
 * One cloud instance to bring in (the Provisioner target of a cloud backend), made by the fleet logic from the
 * fleet's configuration. With `cloud` set the VM exists already (a restart mid-provisioning): provisioning resumes
 * from it (address, SSH bootstrap) instead of creating another.
 */
export interface CloudTarget {
  /** Instance name in state: `<fleet>-<index>`. */
  instance: string;
  fleet: string;
  project: string;
  /** The fleet's `resources`, `backends`, `regions`, `instance_types`, `spot_policy`, `max_price`. */
  filters: OfferFilters;
  reservation?: string;
  diskGiB: number;
  cloud?: CloudInstance;
}
