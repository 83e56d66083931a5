// Start a container from a local test image on a test engine, with its cleanup (STYLE.md: every effect returns it).
// Containers carry the label dstack-test.helper so leftovers from a crashed run can be swept.
import Docker from 'dockerode';
import { dockerOptions } from './test-hosts.js';

export const HELPER_LABEL = 'dstack-test.helper';

export interface ContainerOptions {
  image: string;
  cmd?: string[];
  env?: Record<string, string>;
  /** Container ports to publish on 127.0.0.1 at a port the engine picks. */
  ports?: number[];
}

export interface StartedContainer {
  id: string;
  /** The 127.0.0.1 port the engine published `containerPort` at. */
  hostPort(containerPort: number): number;
  logs(): Promise<string>;
  /** Removes the container; safe to call twice. */
  remove(): Promise<void>;
}

export async function startTestContainer(dockerHost: string, opts: ContainerOptions): Promise<StartedContainer> {
  const docker = new Docker(dockerOptions(dockerHost));
  const ports = opts.ports ?? [];
  const container = await docker.createContainer({
    Image: opts.image,
    ...(opts.cmd ? { Cmd: opts.cmd } : {}),
    Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: { [HELPER_LABEL]: 'true' },
    ExposedPorts: Object.fromEntries(ports.map((p) => [`${p}/tcp`, {}])),
    HostConfig: {
      PortBindings: Object.fromEntries(ports.map((p) => [`${p}/tcp`, [{ HostIp: '127.0.0.1', HostPort: '' }]])),
    },
  });
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    await container.remove({ force: true }).catch(() => undefined);
  };
  try {
    await container.start();
    const info = await container.inspect();
    const bound = info.NetworkSettings.Ports;
    return {
      id: container.id,
      hostPort(containerPort) {
        const port = bound[`${containerPort}/tcp`]?.[0]?.HostPort;
        if (!port) throw new Error(`Port ${containerPort} of ${container.id.slice(0, 12)} is not published`);
        return Number(port);
      },
      async logs() {
        const buf = await container.logs({ stdout: true, stderr: true, follow: false });
        return demux(buf);
      },
      remove,
    };
  } catch (err) {
    await remove();
    throw err;
  }
}

// Docker multiplexes stdout/stderr of a non-TTY container in 8-byte-headed frames; keep only the payloads.
function demux(buf: Buffer): string {
  let out = '';
  for (let i = 0; i + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
  }
  return out;
}
