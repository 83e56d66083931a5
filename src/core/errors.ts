/**
 * One error hierarchy for the whole product (STYLE.md "Errors").
 * - `UserError`: the user can fix it (bad YAML, wrong flag, missing env). Exit 1, no stack, optional hint.
 * - `InternalError`: a bug or an unexpected fault. Stack shown under --verbose.
 * Foreign errors (dockerode, undici, ssh2) are mapped where they enter; never classify by message text.
 * Daemon and agent answer `{code, message, hint?}` JSON; their clients rebuild typed errors with `fromWire`.
 */
export type ErrorCode = Uppercase<string>;

export interface DstackErrorOptions {
  hint?: string;
  cause?: unknown;
  /** HTTP status when this error is answered by the daemon or agent. */
  status?: number;
}

export class DstackError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly status: number;
  readonly userFacing: boolean = false;

  constructor(code: ErrorCode, message: string, options: DstackErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.status = options.status ?? 500;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

/** Something the user can fix; printed as one banner without a stack. */
export class UserError extends DstackError {
  override readonly userFacing = true;
  constructor(code: ErrorCode, message: string, options: DstackErrorOptions = {}) {
    super(code, message, { status: 400, ...options });
  }
}

/** A bug or an unexpected fault; the stack is shown under --verbose. */
export class InternalError extends DstackError {
  constructor(code: ErrorCode, message: string, options: DstackErrorOptions = {}) {
    super(code, message, options);
  }
}

export interface WireError {
  code: string;
  message: string;
  hint?: string;
}

/** Rebuilds a typed error from a `{code, message}` body answered by the daemon or the agent. */
export function fromWire(body: unknown, status: number): DstackError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Partial<WireError>;
  const code = (typeof b.code === 'string' ? b.code : `HTTP_${status}`).toUpperCase() as ErrorCode;
  const message = typeof b.message === 'string' ? b.message : `request failed with HTTP ${status}`;
  const options = { status, ...(typeof b.hint === 'string' ? { hint: b.hint } : {}) };
  return status >= 400 && status < 500 ? new UserError(code, message, options) : new InternalError(code, message, options);
}

export function isDstackError(e: unknown): e is DstackError {
  return e instanceof DstackError;
}
