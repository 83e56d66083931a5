import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { detectGpuVendor, detectGpus, type ExecFn } from '../../../src/agent/host/gpu-detect.js';
import { amdVramMiB, parseAmdSmi, parseNvidiaSmi } from '../../../src/agent/host/gpu-parse.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/gpu/', import.meta.url));
const fixture = (name: string) => readFile(path.join(FIXTURES, name), 'utf8');

/** A fake host filesystem with the given device files, and AMD render-node links by PCI address. */
async function fakeRoot(devices: string[], amdBdfs: string[] = []): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'gpu-root-'));
  for (const d of devices) {
    await mkdir(path.dirname(path.join(root, d)), { recursive: true });
    await writeFile(path.join(root, d), '');
  }
  await mkdir(path.join(root, 'dev/dri/by-path'), { recursive: true });
  for (const [i, bdf] of amdBdfs.entries()) {
    await writeFile(path.join(root, `dev/dri/renderD${128 + i * 8}`), '');
    await symlink(`../renderD${128 + i * 8}`, path.join(root, `dev/dri/by-path/pci-${bdf}-render`));
  }
  return root;
}

/** Answers the SMI commands with recorded outputs, and records what ran. */
function recorded(outputs: Record<string, string>): ExecFn & { calls: string[] } {
  const calls: string[] = [];
  const exec = (async (cmd: string, args: string[]) => {
    calls.push([cmd, ...args].join(' '));
    const out = outputs[cmd];
    if (out === undefined) throw new Error(`${cmd}: not found`);
    return out;
  }) as ExecFn & { calls: string[] };
  exec.calls = calls;
  return exec;
}

describe('nvidia-smi parsing', () => {
  it('parses one H100', async () => {
    expect(parseNvidiaSmi(await fixture('nvidia-smi-1xH100.csv'))).toEqual([
      { vendor: 'nvidia', name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559, id: 'GPU-5d9a0c4e-3f2b-8c1e-9a7d-2b6f4e8c1a03', index: 0, driver: '550.90.07' },
    ]);
  });

  it('parses eight A100s with distinct UUIDs and indexes', async () => {
    const gpus = parseNvidiaSmi(await fixture('nvidia-smi-8xA100.csv'));
    expect(gpus).toHaveLength(8);
    expect(gpus.map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(gpus.map((g) => g.id)).size).toBe(8);
    expect(gpus.every((g) => g.name === 'NVIDIA A100-SXM4-80GB' && g.memoryMiB === 81920 && g.driver === '535.183.01')).toBe(true);
  });

  it('drops placeholder driver versions and rejects a malformed line', () => {
    expect(parseNvidiaSmi('Tesla T4, 15360, GPU-1, [N/A]\n')[0]?.driver).toBeUndefined();
    expect(() => parseNvidiaSmi('Tesla T4, 15360\n')).toThrow(/4 CSV fields/);
  });
});

describe('amd-smi parsing', () => {
  const nodes: Record<string, string> = { '0000:0c:00.0': '/dev/dri/renderD128', '0000:22:00.0': '/dev/dri/renderD136', '0000:38:00.0': '/dev/dri/renderD144', '0000:5c:00.0': '/dev/dri/renderD152' };

  it('parses the ROCm 6 array shape', async () => {
    const gpus = parseAmdSmi(await fixture('amd-smi-rocm6-2xMI300X.json'), (bdf) => nodes[bdf]);
    expect(gpus).toEqual([
      { vendor: 'amd', name: 'AMD Instinct MI300X', memoryMiB: 196592, id: '/dev/dri/renderD128', index: 0, driver: '6.7.0' },
      { vendor: 'amd', name: 'AMD Instinct MI300X', memoryMiB: 196592, id: '/dev/dri/renderD136', index: 1, driver: '6.7.0' },
    ]);
  });

  it('parses the ROCm 7 {gpu_data} shape', async () => {
    const gpus = parseAmdSmi(await fixture('amd-smi-rocm7-4xMI300X.json'), (bdf) => nodes[bdf]);
    expect(gpus.map((g) => g.id)).toEqual(Object.values(nodes));
    expect(gpus.every((g) => g.driver === '6.12.12' && g.memoryMiB === 196592)).toBe(true);
  });

  it('leaves out GPUs whose render node cannot be resolved, and scales GB sizes', async () => {
    expect(parseAmdSmi(await fixture('amd-smi-rocm6-2xMI300X.json'), () => undefined)).toEqual([]);
    expect(amdVramMiB({ size: { value: 192, unit: 'GB' } })).toBe(196608);
    expect(() => parseAmdSmi('{"nope": 1}', () => 'x')).toThrow(/gpu_data/);
  });
});

describe('GPU detection by device files (dstack-notes §5.3)', () => {
  it('detects nothing without device files and runs no tool', async () => {
    const root = await fakeRoot([]);
    const exec = recorded({});
    expect(detectGpuVendor(root)).toBeUndefined();
    expect(await detectGpus({ root, exec })).toEqual([]);
    expect(exec.calls).toEqual([]);
  });

  it('prefers NVIDIA over an AMD iGPU (/dev/kfd) on the same host', async () => {
    const root = await fakeRoot(['dev/nvidiactl', 'dev/kfd']);
    const exec = recorded({ 'nvidia-smi': await fixture('nvidia-smi-8xA100.csv') });
    expect(detectGpuVendor(root)).toBe('nvidia');
    expect(await detectGpus({ root, exec })).toHaveLength(8);
    expect(exec.calls[0]).toBe('nvidia-smi --query-gpu=name,memory.total,uuid,driver_version --format=csv,noheader,nounits');
  });

  it('orders tenstorrent before AMD and AMD before Intel', async () => {
    expect(detectGpuVendor(await fakeRoot(['dev/tenstorrent', 'dev/kfd']))).toBe('tenstorrent');
    expect(detectGpuVendor(await fakeRoot(['dev/kfd', 'dev/accel']))).toBe('amd');
    expect(detectGpuVendor(await fakeRoot(['dev/accel']))).toBe('intel');
  });

  it('uses the WSL nvidia-smi when only /dev/dxg exists', async () => {
    const root = await fakeRoot(['dev/dxg', 'usr/lib/wsl/lib/nvidia-smi']);
    const wsl = path.join(root, 'usr/lib/wsl/lib/nvidia-smi');
    const exec = recorded({ [wsl]: await fixture('nvidia-smi-1xH100.csv') });
    expect((await detectGpus({ root, exec }))[0]?.name).toBe('NVIDIA H100 80GB HBM3');
  });

  it('resolves AMD render nodes through /dev/dri/by-path, retrying amd-smi without --driver', async () => {
    const root = await fakeRoot(['dev/kfd'], ['0000:0c:00.0', '0000:22:00.0']);
    const json = await fixture('amd-smi-rocm6-2xMI300X.json');
    const calls: string[] = [];
    const exec: ExecFn = async (cmd, args) => {
      calls.push(args.join(' '));
      if (args.includes('--driver')) throw new Error('amd-smi: unrecognized arguments: --driver');
      return json;
    };
    const gpus = await detectGpus({ root, exec });
    expect(gpus.map((g) => g.id)).toEqual(['/dev/dri/renderD128', '/dev/dri/renderD136']);
    expect(calls).toHaveLength(2);
  });

  it('reports a failing tool and answers no GPUs rather than failing host info', async () => {
    const root = await fakeRoot(['dev/nvidiactl']);
    const errors: string[] = [];
    expect(await detectGpus({ root, exec: recorded({}), onError: (m) => errors.push(m) })).toEqual([]);
    expect(errors[0]).toContain('nvidia');
  });
});
