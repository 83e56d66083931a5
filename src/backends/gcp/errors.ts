/**
 * GCE's errors mapped to ours in one place, where they enter (STYLE.md "Errors"), by GCE's error code, never by
 * message text. GCE reports a failed create two ways: synchronously (HTTP status, plus an ErrorInfo `reason` in
 * newer answers) or as the finished operation's `error.errors[].code`; both end up here.
 * - no capacity or quota for this offer → OfferUnavailableError, so provisioning tries the next offer;
 * - missing, invalid or expired credentials → UserError naming where they came from, never what they are;
 * - anything else → GceApiError (internal) with GCE's code and message.
 */
import { InternalError, UserError, isDstackError } from '../../core/errors.js';
import { OfferUnavailableError } from '../compute.js';

export interface Context {
  action: string;
  /** Zone, region or `global`. */
  where: string;
  /** `config.yml projects[main].backends[1].creds`, or Application Default Credentials in words. */
  source: string;
  endpoint: string | undefined;
}

/** Codes from https://cloud.google.com/compute/docs/troubleshooting/troubleshooting-vm-creation */
const UNAVAILABLE: Record<string, OfferUnavailableError['kind']> = {
  ZONE_RESOURCE_POOL_EXHAUSTED: 'no_capacity',
  ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS: 'no_capacity',
  STOCKOUT: 'no_capacity',
  QUOTA_EXCEEDED: 'no_quota',
  quotaExceeded: 'no_quota',
};

/** gRPC codes (google-gax maps GCE's HTTP statuses to them) back to the HTTP status GCE answered. */
const HTTP_OF_RPC: Record<number, number> = { 3: 400, 5: 404, 6: 409, 7: 403, 8: 429, 10: 409, 14: 503, 16: 401 };

/** A finished operation that failed: GCE's first error code and message. */
export class GceOperationError extends Error {
  constructor(
    readonly gceCode: string,
    message: string,
    readonly httpStatus: number | undefined,
  ) {
    super(message);
    this.name = 'GceOperationError';
  }
}

/** A GCE error with no meaning of its own to dstack; `httpStatus` lets callers treat 404 and 409 as they need. */
export class GceApiError extends InternalError {
  constructor(
    readonly gceCode: string,
    readonly httpStatus: number | undefined,
    message: string,
    cause: unknown,
  ) {
    super('GCP_API_ERROR', message, { cause });
  }
}

/**
 * GCE's answer inside a transport error. The REST transport rejects with a GaxiosError carrying the HTTP status and
 * GCE's JSON body (`{error: {code, message, errors: [{reason}]}}`) as its cause's message; a GoogleError (gax's
 * own mapping) carries a gRPC code and, from newer answers, an ErrorInfo `reason`.
 */
interface Answer {
  status?: number;
  reason?: string;
  message?: string;
}

function answerOf(e: unknown): Answer | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const err = e as { status?: unknown; code?: unknown; reason?: unknown; message?: unknown; cause?: { message?: unknown } };
  if (typeof err.status === 'number') {
    const body = parseBody(err.cause?.message) ?? parseBody(err.message);
    const reason = body?.errors?.[0]?.reason;
    return { status: err.status, ...(reason ? { reason } : {}), ...(body?.message ? { message: body.message } : {}) };
  }
  if (typeof err.code === 'number') {
    const status = HTTP_OF_RPC[err.code];
    const message = typeof err.message === 'string' ? err.message : undefined;
    return { ...(status ? { status } : {}), ...(typeof err.reason === 'string' && err.reason ? { reason: err.reason } : {}), ...(message ? { message } : {}) };
  }
  return undefined;
}

function parseBody(text: unknown): { message?: string; errors?: { reason?: string }[] } | undefined {
  if (typeof text !== 'string' || !text.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string; errors?: { reason?: string }[] } };
    return typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

/** The HTTP status of a GCE answer, whether it came as a transport error or we already mapped it. */
export function httpStatusOf(e: unknown): number | undefined {
  if (e instanceof GceApiError || e instanceof GceOperationError) return e.httpStatus;
  return answerOf(e)?.status;
}

export function mapGceError(e: unknown, ctx: Context): Error {
  if (isDstackError(e) || e instanceof OfferUnavailableError) return e;
  const err = (typeof e === 'object' && e !== null ? e : {}) as { name?: string; message?: string; code?: unknown };
  if (err.name === 'AbortError') return e as Error;
  const answer: Answer | undefined = e instanceof GceOperationError ? { reason: e.gceCode, message: e.message, ...(e.httpStatus ? { status: e.httpStatus } : {}) } : answerOf(e);
  if (answer?.status === undefined && answer?.reason === undefined) {
    const where = ctx.endpoint ?? 'compute.googleapis.com';
    return new InternalError('GCP_UNREACHABLE', `GCE ${ctx.action} could not reach ${where}: ${typeof err.code === 'string' ? err.code : (err.message ?? String(e))}`, { cause: e });
  }
  const code = answer.reason ?? `HTTP_${answer.status}`;
  const message = answer.message ?? code;
  const kind = UNAVAILABLE[code];
  if (kind) return new OfferUnavailableError(kind, code, `${code} in ${ctx.where}: ${message}`);
  if (answer.status === 401) {
    // GCE's text is left out: it may quote the token.
    return new UserError('GCP_CREDENTIALS_REJECTED', `GCP rejected the credentials from ${ctx.source} (HTTP 401): they are invalid or expired`, {
      hint: 'Renew the credentials (gcloud auth application-default login, or a new service account key), then retry; `dstack offer` works without them.',
    });
  }
  if (answer.status === 403) {
    return new UserError('GCP_PERMISSION_DENIED', `the credentials from ${ctx.source} may not call compute ${ctx.action} in ${ctx.where}: ${message}`, {
      hint: 'Grant the service account the Compute Admin role (roles/compute.admin), or compute.instances.*, compute.firewalls.* and compute.images.useReadOnly.',
    });
  }
  return new GceApiError(code, answer.status, `GCE ${ctx.action} in ${ctx.where} failed: ${code}: ${message}`, e);
}

/** Getting an access token failed: the credentials are missing, unreadable or refused by the token endpoint. */
export function credentialsError(e: unknown, source: string): UserError {
  const err = (typeof e === 'object' && e !== null ? e : {}) as { code?: unknown; response?: { status?: number; data?: { error?: unknown } }; message?: string };
  let why: string;
  if (err.code === 'ENOENT' || err.code === 'EACCES') why = `the key file could not be read (${err.code})`;
  else if (err.response?.status !== undefined) {
    const oauth = typeof err.response.data?.error === 'string' ? `: ${err.response.data.error}` : '';
    why = `the token endpoint answered HTTP ${err.response.status}${oauth}`;
  } else why = (err.message ?? String(e)).split('\n')[0] ?? 'unknown error';
  return new UserError('GCP_CREDENTIALS', `no usable GCP credentials from ${source}: ${why}`, {
    cause: e,
    hint: 'Set GOOGLE_APPLICATION_CREDENTIALS for the dstack server, run `gcloud auth application-default login`, or put `creds: {type: service_account, filename: …}` in the gcp backend in ~/.dstack/config.yml.',
  });
}
