import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { GpuInfo, GpuVendor } from '../../core/model/agent-api.js';
import { parseAmdSmi, parseHlSmi, parseNvidiaSmi } from './gpu-parse.js';

/** Runs a host tool and returns its stdout; rejects on a non-zero exit. Injected so tests feed recorded outputs. */
export type ExecFn = (command: string, args: string[]) => Promise<string>;

export const execHost: ExecFn = (command, args) =>
  new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });

export interface GpuDetectOptions {
  /** Filesystem root that holds /dev and /usr (tests point it at a fixture tree). */
  root?: string;
  exec?: ExecFn;
  onError?: (message: string) => void;
}

const at = (root: string, p: string) => path.join(root, p);

/**
 * The vendor by device files, in dstack's order (dstack-notes §5.3): NVIDIA first, so a host with an AMD
 * iGPU (/dev/kfd) and an NVIDIA card reports the NVIDIA card (dstack #4085).
 */
export function detectGpuVendor(root = '/'): GpuVendor | undefined {
  if (existsSync(at(root, '/dev/nvidiactl'))) return 'nvidia';
  if (existsSync(at(root, '/dev/dxg')) && existsSync(at(root, '/usr/lib/wsl/lib/nvidia-smi'))) return 'nvidia';
  if (existsSync(at(root, '/dev/tenstorrent'))) return 'tenstorrent';
  if (existsSync(at(root, '/dev/kfd'))) return 'amd';
  if (existsSync(at(root, '/dev/accel'))) return 'intel';
  return undefined;
}

/** udev links `/dev/dri/by-path/pci-<bdf>-render` → `../renderD<N>`; the id is that path as seen from `root`. */
export function amdRenderNode(root: string, bdf: string): string | undefined {
  try {
    const resolved = realpathSync(at(root, `/dev/dri/by-path/pci-${bdf}-render`));
    return '/' + path.relative(root, resolved);
  } catch {
    return undefined;
  }
}

/** The host's GPUs; no GPU devices → none. A failing SMI tool is reported through onError and yields none. */
export async function detectGpus(options: GpuDetectOptions = {}): Promise<GpuInfo[]> {
  const root = options.root ?? '/';
  const exec = options.exec ?? execHost;
  const vendor = detectGpuVendor(root);
  try {
    switch (vendor) {
      case 'nvidia': {
        const wsl = at(root, '/usr/lib/wsl/lib/nvidia-smi');
        const smi = !existsSync(at(root, '/dev/nvidiactl')) && existsSync(wsl) ? wsl : 'nvidia-smi';
        return parseNvidiaSmi(await exec(smi, ['--query-gpu=name,memory.total,uuid,driver_version', '--format=csv,noheader,nounits']));
      }
      case 'amd': {
        const args = ['static', '--json', '--asic', '--vram', '--bus'];
        // Older amd-smi lacks --driver: it exits non-zero, and the query is repeated without it.
        const out = await exec('amd-smi', [...args, '--driver']).catch(() => exec('amd-smi', args));
        return parseAmdSmi(out, (bdf) => amdRenderNode(root, bdf));
      }
      case 'intel':
        return parseHlSmi(await exec('hl-smi', ['--query-aip=name,memory.total,index', '--format=csv,noheader,nounits']));
      default:
        return [];
    }
  } catch (e) {
    options.onError?.(`GPU detection (${vendor}) failed: ${(e as Error).message}`);
    return [];
  }
}
