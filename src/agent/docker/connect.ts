import { existsSync } from 'node:fs';
import Docker from 'dockerode';

/** Where the engine is, as DOCKER_HOST spells it: `unix:///path`, `/path`, or `tcp://host:port`. */
export function dockerEndpoint(dockerHost: string): { socketPath: string } | { host: string; port: number; protocol: 'http' } {
  if (dockerHost.startsWith('tcp://') || dockerHost.startsWith('http://')) {
    const u = new URL(dockerHost.replace(/^tcp:/, 'http:'));
    return { host: u.hostname, port: Number(u.port || 2375), protocol: 'http' };
  }
  return { socketPath: dockerHost.replace(/^unix:\/\//, '') };
}

export function dockerClient(dockerHost: string): Docker {
  return new Docker(dockerEndpoint(dockerHost));
}

/** An engine is configured when its socket file exists (it may be down right now) or a TCP address is given. */
export function dockerConfigured(dockerHost: string): boolean {
  const endpoint = dockerEndpoint(dockerHost);
  return 'host' in endpoint || existsSync(endpoint.socketPath);
}
