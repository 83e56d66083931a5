/**
 * Errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, so that official clients raise the
 * right class (401 → AuthenticationError, 404 → NotFoundError, …). Every error the models endpoint answers goes
 * through here; dstack's own `{detail}` shape would surface as an opaque APIError in those clients.
 */
import { isDstackError } from '../../core/errors.js';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error to answer with an HTTP status in OpenAI's shape; thrown anywhere below the handler. */
export class ModelsApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = typeForStatus(status),
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'ModelsApiError';
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** OpenAI's own `type` values by status, so clients that switch on `type` behave as with api.openai.com. */
function typeForStatus(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 400 && status < 500) return 'invalid_request_error';
  return 'server_error';
}

/** Maps anything thrown (ours, the forwarder's DstackErrors, foreign faults) to one OpenAI-shaped error. */
export function toModelsApiError(err: unknown): ModelsApiError {
  if (err instanceof ModelsApiError) return err;
  if (isDstackError(err)) {
    const message = err.hint ? `${err.message} (${err.hint})` : err.message;
    return new ModelsApiError(err.status, message, typeForStatus(err.status), err.code.toLowerCase());
  }
  return new ModelsApiError(502, 'Error while talking to the model replica', 'server_error', 'upstream_error');
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new ModelsApiError(400, message, 'invalid_request_error', code, param);
