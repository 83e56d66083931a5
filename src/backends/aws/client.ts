/**
 * EC2 clients of one AWS backend. The SDK is imported lazily: it costs ~0.9 s and 126 MB, and the CLI (offers
 * from the catalog included) must never pay for it. One client per region; credentials and endpoint come from the
 * backend's config and the env the daemon passes, because the SDK on its own would read `process.env` only.
 * Every call goes through `call`, where EC2's errors are mapped to ours (errors.ts).
 */
import type { EC2Client, EC2ClientConfig } from '@aws-sdk/client-ec2';
import type { AwsBackendConfig } from '../../core/home/backends-config.js';
import { mapEc2Error, type CredentialSource } from './errors.js';

export type AwsSdk = typeof import('@aws-sdk/client-ec2');
export type Env = Readonly<Record<string, string | undefined>>;

/** A cloud API answers or fails quickly; the caller moves on to the next offer instead of waiting out retries. */
const MAX_ATTEMPTS = 2;

export interface Ec2Options {
  config: AwsBackendConfig;
  env: Env;
  /** Where the credentials come from, as error messages name it: `config.yml projects[main].backends[0].creds`. */
  configPath: string;
}

export class Ec2 {
  private readonly clients = new Map<string, Promise<{ client: EC2Client; sdk: AwsSdk }>>();
  readonly source: CredentialSource;

  constructor(private readonly options: Ec2Options) {
    this.source = credentialSource(options.config, options.env, options.configPath);
  }

  /** Runs one EC2 action in `region`; any failure comes back as our error type (OfferUnavailableError, UserError…). */
  async call<O>(region: string, action: string, fn: (client: EC2Client, sdk: AwsSdk) => Promise<O>): Promise<O> {
    try {
      const { client, sdk } = await this.client(region);
      return await fn(client, sdk);
    } catch (e) {
      throw mapEc2Error(e, { action, region, source: this.source, endpoint: endpointOf(this.options.env) });
    }
  }

  private client(region: string): Promise<{ client: EC2Client; sdk: AwsSdk }> {
    let entry = this.clients.get(region);
    if (!entry) {
      entry = import('@aws-sdk/client-ec2').then((sdk) => ({ sdk, client: withoutNodeVersionWarning(() => new sdk.EC2Client(this.clientConfig(region))) }));
      entry.catch(() => this.clients.delete(region));
      this.clients.set(region, entry);
    }
    return entry;
  }

  private clientConfig(region: string): EC2ClientConfig {
    const { config, env } = this.options;
    const endpoint = endpointOf(env);
    const credentials = staticCredentials(config, env);
    return {
      region,
      maxAttempts: MAX_ATTEMPTS,
      ...(endpoint ? { endpoint } : {}),
      ...(credentials ? { credentials } : env.AWS_PROFILE ? { profile: env.AWS_PROFILE } : {}),
    };
  }
}

/**
 * `AWS_ENDPOINT_URL_EC2`, else `AWS_ENDPOINT_URL`, as the SDK resolves them, but from the env we were given. The
 * SDK reads these from process.env only; passing `endpoint` makes a daemon started with another env behave the same.
 */
export function endpointOf(env: Env): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  return nonEmpty(env.AWS_ENDPOINT_URL_EC2) ?? nonEmpty(env.AWS_ENDPOINT_URL);
}

/**
 * `access_key` creds, or for `default` the env's own AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (the chain's first
 * link, taken from the env we were given); undefined leaves the rest of the SDK's default chain to find them.
 */
function staticCredentials(config: AwsBackendConfig, env: Env): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined {
  if (config.creds.type === 'access_key') return { accessKeyId: config.creds.access_key, secretAccessKey: config.creds.secret_key };
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

function credentialSource(config: AwsBackendConfig, env: Env, configPath: string): CredentialSource {
  const fromConfig = config.creds.type === 'access_key';
  const creds = staticCredentials(config, env);
  return {
    description: fromConfig ? configPath : 'the default AWS credential chain (AWS_PROFILE/AWS_ACCESS_KEY_ID/~/.aws)',
    // Redacted from every message we build, in case a provider message ever echoes one.
    secrets: creds ? [creds.accessKeyId, creds.secretAccessKey, ...(creds.sessionToken ? [creds.sessionToken] : [])] : [],
  };
}

const nonEmpty = (v: string | undefined): string | undefined => (v && v.length > 0 ? v : undefined);

/**
 * The SDK warns once per process that its releases after January 2027 need Node 22. Node 20 is the runtime this
 * product ships with (the single binary embeds it), so that one warning is noise on every daemon start; any other
 * warning passes through.
 */
function withoutNodeVersionWarning<T>(make: () => T): T {
  const original = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (text.startsWith('NodeVersionSupportWarning')) return;
    (original as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return make();
  } finally {
    process.emitWarning = original;
  }
}
