import { statfs } from 'node:fs/promises';
import os from 'node:os';
import type { HostInfo } from '../../core/model/agent-api.js';
import { detectGpus, type GpuDetectOptions } from './gpu-detect.js';

export interface HostInfoOptions extends GpuDetectOptions {
  /** The disk reported is the one holding this directory (the agent's home, next to Docker's data). */
  diskPath: string;
  runtime: HostInfo['runtime'];
  docker: HostInfo['docker'];
}

/** Non-internal IPv4 and IPv6 addresses; the daemon picks the internal IP of a fleet host from them. */
function addresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => !a.internal)
    .map((a) => a.address);
}

export async function collectHostInfo(options: HostInfoOptions): Promise<HostInfo> {
  const disk = await statfs(options.diskPath).catch(() => undefined);
  return {
    hostname: os.hostname(),
    arch: os.machine(),
    cpus: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    diskFreeBytes: disk ? disk.bavail * disk.bsize : 0,
    diskTotalBytes: disk ? disk.blocks * disk.bsize : 0,
    gpus: await detectGpus(options),
    addresses: addresses(),
    runtime: options.runtime,
    docker: options.docker,
  };
}
