/**
 * Cloud backends in DSTACK_HOME/config.yml, in dstack's server-config shape (`projects[].backends`):
 *
 *   projects:
 *   - name: main
 *     backends:
 *     - type: aws
 *       creds: {type: default}            # or {type: access_key, access_key: …, secret_key: …}
 *       regions: [us-east-1, us-west-2]   # optional: every catalog region otherwise
 *       os_images:                        # optional: dstack's defaults otherwise
 *         cpu: {name: …, owner: self, user: ubuntu}
 *         nvidia: {name: …, owner: 123456789012, user: ubuntu}
 *     - type: gcp
 *       project_id: my-project
 *       creds: {type: default}            # or {type: service_account, filename: ~/sa.json}
 *       regions: [us-central1]            # optional: every catalog region otherwise (zones count by their region)
 *       vpc_name: default                 # optional, as dstack's
 *       os_images:                        # optional: image families, dstack's defaults otherwise
 *         nvidia: {family: …, project: …, user: ubuntu}
 *
 * Credentials are kept in this 0600 file only; they never reach output, logs or `--json`.
 */
import { z } from 'zod';

const OsImage = z.strictObject({
  /** AMI name (exact, or with `*` wildcards as EC2's name filter takes it). */
  name: z.string().min(1),
  /** The owner account id, `self`, or an alias such as `amazon`; default: any owner. */
  owner: z.string().min(1).optional(),
  user: z.string().min(1).default('ubuntu'),
});

export const AwsCreds = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('default') }),
  z.strictObject({ type: z.literal('access_key'), access_key: z.string().min(1), secret_key: z.string().min(1) }),
]);
export type AwsCreds = z.infer<typeof AwsCreds>;

export const AwsBackendConfig = z.strictObject({
  type: z.literal('aws'),
  creds: AwsCreds.default({ type: 'default' }),
  regions: z.array(z.string().min(1)).min(1).optional(),
  os_images: z.strictObject({ cpu: OsImage.optional(), nvidia: OsImage.optional() }).optional(),
});
export type AwsBackendConfig = z.infer<typeof AwsBackendConfig>;

const GcpOsImage = z.strictObject({
  /** Image family: the newest non-deprecated image of it is used (`ubuntu-2204-lts`). */
  family: z.string().min(1).describe('GCE image family; its newest image is used'),
  /** The project that publishes it (`ubuntu-os-cloud`), default the backend's own project_id. */
  project: z.string().min(1).optional().describe('project publishing the image family; default: project_id'),
  user: z.string().min(1).default('ubuntu').describe('SSH user of the image'),
});

export const GcpCreds = z.discriminatedUnion('type', [
  /** Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS, gcloud's ADC file, or the metadata server. */
  z.strictObject({ type: z.literal('default') }),
  z.strictObject({ type: z.literal('service_account'), filename: z.string().min(1).describe('path of the service account key JSON') }),
]);
export type GcpCreds = z.infer<typeof GcpCreds>;

/** Field names as dstack's `gcp` backend (project_id, creds, regions, vpc_name, public_ips). */
export const GcpBackendConfig = z.strictObject({
  type: z.literal('gcp'),
  project_id: z.string().min(1).describe('the GCP project VMs are created in'),
  creds: GcpCreds.default({ type: 'default' }),
  regions: z.array(z.string().min(1)).min(1).optional().describe('regions (or zones) to use; default: every region of the catalog'),
  vpc_name: z.string().min(1).optional().describe('VPC network of the VMs; default: `default`'),
  public_ips: z.boolean().default(true).describe('give VMs a public IP (dstack connects to the private one otherwise)'),
  os_images: z.strictObject({ cpu: GcpOsImage.optional(), nvidia: GcpOsImage.optional() }).optional(),
});
export type GcpBackendConfig = z.infer<typeof GcpBackendConfig>;

/** One entry of `projects[].backends`. */
export const BackendConfig = z.discriminatedUnion('type', [AwsBackendConfig, GcpBackendConfig]);
export type BackendConfig = z.infer<typeof BackendConfig>;
