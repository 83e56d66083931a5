/**
 * EC2's errors mapped to ours in one place, where they enter (STYLE.md "Errors"), by the error code EC2 answers
 * (never by message text; codes: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html):
 * - no capacity, quota or price for this offer → OfferUnavailableError, so provisioning tries the next offer;
 * - missing, invalid or expired credentials → UserError naming where they came from, never what they are;
 * - anything else → AwsApiError (internal) keeping EC2's code, which callers test for NotFound/Duplicate cases.
 */
import { InternalError, UserError, isDstackError } from '../../core/errors.js';
import { OfferUnavailableError } from '../compute.js';

export interface CredentialSource {
  /** `config.yml projects[main].backends[0].creds`, or the default chain in words. */
  description: string;
  /** Values never to appear in a message. */
  secrets: readonly string[];
}

interface Context {
  action: string;
  region: string;
  source: CredentialSource;
  endpoint: string | undefined;
}

const UNAVAILABLE: Record<string, OfferUnavailableError['kind']> = {
  InsufficientInstanceCapacity: 'no_capacity',
  InsufficientCapacity: 'no_capacity',
  InsufficientHostCapacity: 'no_capacity',
  InsufficientReservedInstanceCapacity: 'no_capacity',
  InsufficientCapacityOnHost: 'no_capacity',
  InstanceLimitExceeded: 'no_quota',
  VcpuLimitExceeded: 'no_quota',
  MaxSpotInstanceCountExceeded: 'no_quota',
  SpotMaxPriceTooLow: 'price',
  Unsupported: 'unsupported',
};

/** The credentials were refused: wrong, revoked, expired, or a clock so far off that AWS takes them as expired. */
const AUTH = new Set([
  'AuthFailure',
  'RequestExpired',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidAccessKeyId',
  'MissingAuthenticationToken',
  'OptInRequired',
]);

/** EC2's error code of an SDK exception, or the code kept on an error we already mapped. */
export function awsCode(e: unknown): string | undefined {
  if (e instanceof AwsApiError) return e.awsCode;
  if (e instanceof OfferUnavailableError) return e.providerCode;
  if (typeof e !== 'object' || e === null) return undefined;
  // `$fault` marks an answer from the service; the SDK also puts `$metadata` on transport errors.
  const err = e as { $fault?: unknown; name?: unknown; Code?: unknown };
  if (typeof err.$fault !== 'string') return undefined;
  return typeof err.Code === 'string' ? err.Code : typeof err.name === 'string' ? err.name : undefined;
}

/** An EC2 error with no meaning of its own to dstack; `awsCode` is EC2's code (`InvalidInstanceID.NotFound`…). */
export class AwsApiError extends InternalError {
  constructor(
    readonly awsCode: string,
    message: string,
    cause: unknown,
  ) {
    super('AWS_API_ERROR', message, { cause });
  }
}

export function mapEc2Error(e: unknown, ctx: Context): Error {
  if (isDstackError(e) || e instanceof OfferUnavailableError) return e;
  const err = (typeof e === 'object' && e !== null ? e : {}) as { name?: string; message?: string; code?: string };
  if (err.name === 'AbortError') return e as Error;
  const clean = (text: string) => redact(text, ctx.source.secrets);
  if (err.name === 'CredentialsProviderError') {
    return new UserError('AWS_CREDENTIALS_MISSING', `no AWS credentials were found in ${ctx.source.description}`, {
      hint: 'Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for the dstack server, or put `creds: {type: access_key, …}` in the backend in ~/.dstack/config.yml.',
    });
  }
  const code = awsCode(e);
  if (code === undefined) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== undefined) return new InternalError('AWS_API_ERROR', `EC2 ${ctx.action} in ${ctx.region} answered HTTP ${status} with no EC2 error in it`, { cause: e });
    const where = ctx.endpoint ?? `EC2 in ${ctx.region}`;
    return new InternalError('AWS_UNREACHABLE', clean(`EC2 ${ctx.action} could not reach ${where}: ${err.code ?? err.message ?? String(e)}`), { cause: e });
  }
  const kind = UNAVAILABLE[code];
  if (kind) return new OfferUnavailableError(kind, code, clean(`${code} in ${ctx.region}: ${err.message ?? code}`));
  if (AUTH.has(code)) {
    // AWS's own text is left out: it may quote the request's signing details.
    return new UserError('AWS_CREDENTIALS_REJECTED', `AWS rejected the credentials from ${ctx.source.description} (${code}): they are invalid or expired`, {
      hint: 'Renew the credentials (or fix the clock if it is off by minutes), then retry; `dstack offer` works without them.',
    });
  }
  if (code === 'UnauthorizedOperation') {
    return new UserError('AWS_PERMISSION_DENIED', `the credentials from ${ctx.source.description} may not call ec2:${ctx.action} in ${ctx.region}`, {
      hint: "Grant the IAM user or role EC2 permissions (dstack's AWS backend needs ec2:RunInstances, ec2:Describe*, ec2:TerminateInstances, ec2:ImportKeyPair, ec2:CreateSecurityGroup, ec2:CreateTags…).",
    });
  }
  return new AwsApiError(code, clean(`EC2 ${ctx.action} in ${ctx.region} failed: ${code}: ${err.message ?? ''}`.trimEnd()), e);
}

export function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((t, s) => (s.length >= 4 ? t.split(s).join('***') : t), text);
}
