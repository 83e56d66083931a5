/**
 * The agent's error type. The agent may import only core/model (DESIGN.md §5), so it cannot use
 * core/errors.ts; this class answers the same `{code, message}` wire shape, which the daemon's client turns
 * back into a typed error with `fromWire`.
 */
export class AgentError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = 500, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AgentError';
    this.code = code;
    this.status = status;
  }

  toWire(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isAgentError(e: unknown): e is AgentError {
  return e instanceof AgentError;
}

/** Wraps anything thrown into an AgentError without losing the original as `cause`. */
export function toAgentError(e: unknown, code = 'INTERNAL'): AgentError {
  if (isAgentError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new AgentError(code, message, 500, { cause: e });
}

export const dockerUnavailable = (detail: string): AgentError =>
  new AgentError('DOCKER_UNAVAILABLE', `Docker Engine is not reachable: ${detail}`, 503);
