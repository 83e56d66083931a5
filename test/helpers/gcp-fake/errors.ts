// Compute Engine's error bodies, as its REST API returns them (https://cloud.google.com/apis/design/errors and the
// v1 `errors[]` list with domain/reason that compute still sends). google-gax's fallback transport turns these into
// GoogleError (`code` = gRPC code, message), so the shapes must match for the backend to see what it would in GCE.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  body(): unknown {
    return { error: { code: this.status, message: this.message, errors: [{ message: this.message, domain: this.domain(), reason: this.reason }], ...this.extra } };
  }

  private domain(): string {
    return this.reason === 'quotaExceeded' || this.reason === 'rateLimitExceeded' ? 'usageLimits' : 'global';
  }
}

export const notFound = (resource: string): ApiError => new ApiError(404, 'notFound', `The resource '${resource}' was not found`);

export const alreadyExists = (resource: string): ApiError => new ApiError(409, 'alreadyExists', `The resource '${resource}' already exists`);

export const invalid = (field: string, value: unknown, why: string): ApiError =>
  new ApiError(400, 'invalid', `Invalid value for field '${field}': '${typeof value === 'string' ? value : JSON.stringify(value)}'. ${why}`);

export const badRequest = (message: string): ApiError => new ApiError(400, 'badRequest', message);

/** What Google's front end answers for a missing, bad or expired bearer token. */
export const unauthenticated = (): ApiError =>
  new ApiError(
    401,
    'authError',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    { status: 'UNAUTHENTICATED' },
  );

/** Quota refused up front (HTTP 403, usageLimits/quotaExceeded), as gcloud shows "Could not fetch resource: Quota … exceeded". */
export const quotaExceeded = (metric: string, region: string): ApiError =>
  new ApiError(403, 'quotaExceeded', quotaMessage(metric, region));

export function quotaMessage(metric: string, region: string): string {
  return `Quota '${metric}' exceeded.  Limit: 0.0 in region ${region}.`;
}

/** An Operation's failure: GCE finishes the operation DONE with these fields instead of failing the insert call. */
export interface OperationFailure {
  code: string;
  message: string;
  httpErrorStatusCode: number;
  httpErrorMessage: string;
  errorDetails?: unknown[];
}

export function zoneExhausted(project: string, zone: string, code: string): OperationFailure {
  const detail = code.endsWith('_WITH_DETAILS') ? "  '(resource type:compute)'." : '  Try a different zone, or try again later.';
  return {
    code,
    message: `The zone 'projects/${project}/zones/${zone}' does not have enough resources available to fulfill the request.${detail}`,
    httpErrorStatusCode: 503,
    httpErrorMessage: 'SERVICE UNAVAILABLE',
  };
}

/** Quota as an insert operation's error (what `Error waiting for instance to create: Quota … exceeded` comes from). */
export function quotaOperationFailure(metric: string, region: string): OperationFailure {
  return {
    code: 'QUOTA_EXCEEDED',
    message: quotaMessage(metric, region),
    httpErrorStatusCode: 403,
    httpErrorMessage: 'FORBIDDEN',
    errorDetails: [{ quotaInfo: { metricName: `compute.googleapis.com/${metric.toLowerCase()}`, limitName: `${metric}-per-project-region`, dimensions: { region }, limit: 0 } }],
  };
}
