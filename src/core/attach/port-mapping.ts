/**
 * `dstack attach -p` as dstack parses it (core/models/configurations.py PortMapping): `8080` forwards local 8080 to
 * remote 8080, `80:8080` local 80 to remote 8080, `*:8080` any free local port to remote 8080. The service port is
 * forwarded to the same local port unless a mapping names it as its remote port (dstack's override rule).
 */
import { UserError } from '../errors.js';

/** `local: 0` asks for any free local port. */
export interface PortMapping {
  local: number;
  remote: number;
}

const FLAG = '-p/--port';

function portNumber(text: string, value: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new UserError('INVALID_PORT_MAPPING', `${FLAG} ${JSON.stringify(value)}: ${text} is not a port (1..65535)`, {
      hint: 'Use LOCAL:REMOTE (8080:8000), REMOTE (8000, the same local port) or *:REMOTE (any free local port).',
    });
  }
  return n;
}

export function parsePortMapping(value: string): PortMapping {
  const m = /^(?:(\d+|\*):)?(\d+)$/.exec(value.trim());
  if (!m) {
    throw new UserError('INVALID_PORT_MAPPING', `${FLAG} ${JSON.stringify(value)} is not a port mapping`, {
      hint: 'Use LOCAL:REMOTE (8080:8000), REMOTE (8000, the same local port) or *:REMOTE (any free local port).',
    });
  }
  const remote = portNumber(m[2]!, value);
  if (m[1] === undefined) return { local: remote, remote };
  return { local: m[1] === '*' ? 0 : portNumber(m[1], value), remote };
}

/**
 * The mappings an attach opens: the service port first (unless a mapping overrides it), then the given ones in order.
 * Two mappings on one local port cannot both listen: refused here, before anything binds.
 */
export function planPortMappings(servicePort: number, given: readonly PortMapping[]): PortMapping[] {
  const overridden = given.some((m) => m.remote === servicePort);
  const all = overridden ? [...given] : [{ local: servicePort, remote: servicePort }, ...given];
  const unique = all.filter((m, i) => all.findIndex((o) => o.local === m.local && o.remote === m.remote) === i);
  const seen = new Map<number, number>();
  for (const m of unique) {
    const other = m.local === 0 ? undefined : seen.get(m.local);
    if (other !== undefined) {
      throw new UserError('PORT_MAPPING_CONFLICT', `Local port ${m.local} is mapped to both ${other} and ${m.remote}`, {
        hint: `Give one of them another local port, e.g. -p ${m.local + 1}:${m.remote}.`,
      });
    }
    seen.set(m.local, m.remote);
  }
  return unique;
}

/** What to tell a user whose local port is taken (dstack's wording: `-p` overrides the local side). */
export function portInUseHint(m: PortMapping): string {
  return `Use -p in dstack attach to override the local port mapping, e.g. -p ${Math.min(m.local + 1, 65535)}:${m.remote} (or -p '*:${m.remote}' for any free port).`;
}
