/**
 * Where on its host a replica's port answers, for the attach tunnel. Only the service port is published (on the
 * host's 127.0.0.1); any other port of a container is reached at the container's address on the host's Docker
 * network, which nothing off the host can reach. A process replica listens on the host itself.
 */
import { UserError } from '../errors.js';

export interface ReplicaEndpoint {
  runtime?: 'docker' | 'process';
  /** The published service port on the host's loopback. */
  hostPort?: number;
  /** The container's address on its Docker network (from the agent). */
  address?: string;
}

export interface TcpTarget {
  host: string;
  port: number;
}

/** Whether reaching `port` needs the container's address (the agent knows it; the daemon's record does not). */
export function needsAddress(r: ReplicaEndpoint, servicePort: number, port: number): boolean {
  return !(port === servicePort && r.hostPort !== undefined) && r.runtime !== 'process';
}

export function attachTarget(r: ReplicaEndpoint, servicePort: number, port: number, what: string): TcpTarget {
  if (port === servicePort && r.hostPort !== undefined) return { host: '127.0.0.1', port: r.hostPort };
  if (r.runtime === 'process') return { host: '127.0.0.1', port };
  if (r.address) return { host: r.address, port };
  throw new UserError('PORT_UNREACHABLE', `Port ${port} of ${what} cannot be reached: its agent reports no container address`, {
    status: 502,
    hint: `Only the service port (${servicePort}) is published; other ports need the container on a Docker network.`,
  });
}
