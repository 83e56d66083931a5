import { AgentError, dockerUnavailable } from '../errors.js';

/** The fields dockerode (docker-modem) puts on its errors: HTTP status, or a socket errno. */
interface ModemError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  message?: string;
}

const asModem = (e: unknown): ModemError => (typeof e === 'object' && e !== null ? (e as ModemError) : {});

/** Socket-level failures: nothing answers on the Docker socket or TCP address. */
const UNREACHABLE_ERRNOS = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH']);

export const engineMessage = (e: unknown): string => {
  const m = asModem(e);
  return m.json?.message ?? m.message ?? String(e);
};

/** True when the error says the engine itself is unreachable (as opposed to refusing one request). */
export function isEngineUnreachable(e: unknown): boolean {
  const m = asModem(e);
  return m.statusCode === undefined && m.code !== undefined && UNREACHABLE_ERRNOS.has(m.code);
}

export type DockerStep = 'pull' | 'inspect-image' | 'create' | 'start' | 'other';

/**
 * Maps a dockerode error to a stable code where it enters the agent (STYLE.md "Errors"): by errno and
 * HTTP status, never by message, except in `classifyStartFailure` below.
 */
export function mapDockerError(e: unknown, step: DockerStep, image?: string): AgentError {
  if (e instanceof AgentError) return e;
  const m = asModem(e);
  const detail = engineMessage(e);
  if (isEngineUnreachable(e)) return dockerUnavailable(detail);
  const status = m.statusCode;
  if (step === 'pull') {
    if (status === 404) return new AgentError('IMAGE_NOT_FOUND', `image ${image} was not found: ${detail}`, 404, { cause: e });
    if (status === 401 || status === 403 || matchClass(PULL_FAILURE_CLASSES, detail) === 'PULL_DENIED') {
      return new AgentError('PULL_DENIED', `pulling ${image} was denied: ${detail}`, 403, { cause: e });
    }
    return new AgentError('PULL_FAILED', `pulling ${image} failed: ${detail}`, 502, { cause: e });
  }
  if ((step === 'create' || step === 'inspect-image') && status === 404) {
    return new AgentError('IMAGE_NOT_FOUND', `image ${image} is not on this host: ${detail}`, 404, { cause: e });
  }
  if (step === 'create' && status === 409) return new AgentError('CONTAINER_EXISTS', detail, 409, { cause: e });
  if (step === 'start') return classifyStartFailure(e, detail);
  if (step === 'create') return new AgentError('CREATING_CONTAINER_ERROR', detail, 500, { cause: e });
  return new AgentError('DOCKER_ERROR', detail, 500, { cause: e });
}

/**
 * The one place a message match is unavoidable: the engine answers every failure of runc and of the
 * network driver during `start`, and a registry's 401/denied during `pull`, with HTTP 400/500 and a
 * free-text message, with no structured field (verified on Docker 20.10: a 401 from the registry is a
 * 500 from the engine). These texts are stable error classes of runc, libnetwork, the engine's
 * device-driver registry, and the registry API's error codes (UNAUTHORIZED, DENIED).
 */
const PULL_FAILURE_CLASSES: ReadonlyArray<[RegExp, string]> = [
  [/\bunauthorized\b|\bdenied\b|no basic auth credentials|authentication required/i, 'PULL_DENIED'],
];

const START_FAILURE_CLASSES: ReadonlyArray<[RegExp, string]> = [
  [/unable to find (user|group)|no matching entries in (passwd|group) file/i, 'UNKNOWN_USER'],
  [/address already in use|port is already allocated|programming external connectivity/i, 'PORT_BINDING_FAILED'],
  [/could not select device driver/i, 'GPU_UNAVAILABLE'],
  [/executable file not found|no such file or directory/i, 'EXECUTABLE_NOT_FOUND'],
];

const matchClass = (classes: ReadonlyArray<[RegExp, string]>, detail: string): string | undefined =>
  classes.find(([re]) => re.test(detail))?.[1];

function classifyStartFailure(e: unknown, detail: string): AgentError {
  return new AgentError(matchClass(START_FAILURE_CLASSES, detail) ?? 'CONTAINER_START_FAILED', detail, asModem(e).statusCode === 400 ? 400 : 500, { cause: e });
}
