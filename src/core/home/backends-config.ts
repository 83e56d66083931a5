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

/** One entry of `projects[].backends`; GCP joins this union in its own issue. */
export const BackendConfig = z.discriminatedUnion('type', [AwsBackendConfig]);
export type BackendConfig = z.infer<typeof BackendConfig>;
