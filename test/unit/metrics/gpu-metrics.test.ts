import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ExecFn } from '../../../src/agent/host/gpu-detect.js';
import { parseAmdSmiMonitor, parseNvidiaSmiMetrics, readGpuMetrics } from '../../../src/agent/metrics/gpu-metrics.js';

const fixture = (name: string) => readFile(fileURLToPath(new URL(`../../fixtures/gpu/${name}`, import.meta.url)), 'utf8');
const MIB = 1024 * 1024;
const A100 = ['GPU-a4c123b1-612d-d272-d137-1c17149d4395', 'GPU-36b3216f-daee-b975-729f-ae923d5a4fd1', 'GPU-2aabfe22-8f21-9e9c-b0eb-53f16947ccf2'];

/** Answers SMI commands with recorded outputs keyed by `command firstArg`, and records what ran. */
function recorded(outputs: Record<string, string>): ExecFn & { calls: string[] } {
  const calls: string[] = [];
  const exec = (async (cmd: string, args: string[]) => {
    calls.push([cmd, ...args].join(' '));
    const out = outputs[`${cmd} ${args[0]}`];
    if (out === undefined) throw new Error(`${cmd} ${args[0]}: no recording`);
    return out;
  }) as ExecFn & { calls: string[] };
  exec.calls = calls;
  return exec;
}

describe('nvidia-smi metrics parsing', () => {
  it('reads utilisation and memory of each of eight A100s, keyed by index and UUID', async () => {
    const gpus = parseNvidiaSmiMetrics(await fixture('nvidia-smi-metrics-8xA100.csv'));
    expect(gpus).toHaveLength(8);
    expect(gpus[0]).toEqual({ index: 0, id: A100[0], utilizationPercent: 93, memoryUsedBytes: 74219 * MIB, memoryTotalBytes: 81920 * MIB });
    expect(gpus.map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('leaves out a figure the tool prints as [N/A] (utilisation of a GPU in MIG mode) instead of reading 0', async () => {
    const [gpu] = parseNvidiaSmiMetrics(await fixture('nvidia-smi-metrics-mig-1xH100.csv'));
    expect(gpu).toEqual({ index: 0, id: 'GPU-5d9a0c4e-3f2b-8c1e-9a7d-2b6f4e8c1a03', memoryUsedBytes: 36537 * MIB, memoryTotalBytes: 81559 * MIB });
    expect(parseNvidiaSmiMetrics('0, GPU-1, [Not Supported], [Insufficient Permissions], 100\n')[0]).toEqual({ index: 0, id: 'GPU-1', memoryTotalBytes: 100 * MIB });
  });

  it('rejects a line with the wrong number of fields', () => {
    expect(() => parseNvidiaSmiMetrics('0, GPU-1, 5\n')).toThrow(/5 CSV fields/);
  });
});

describe('amd-smi monitor parsing', () => {
  it('finds the columns by name in both captured ROCm layouts', async () => {
    const expected = [{ index: 0, id: '', utilizationPercent: 10, memoryUsedBytes: 283 * MIB }];
    expect(parseAmdSmiMonitor(await fixture('amd-smi-monitor-rocm6.3.csv'))).toEqual([{ ...expected[0], memoryTotalBytes: 196300 * MIB }]);
    expect(parseAmdSmiMonitor(await fixture('amd-smi-monitor-rocm6.4.csv'))).toEqual([{ ...expected[0], memoryTotalBytes: 196592 * MIB }]);
  });

  it('leaves out an N/A utilisation and fails on output without the columns it needs', async () => {
    const [, second] = parseAmdSmiMonitor(await fixture('amd-smi-monitor-rocm6.4-2xMI300X.csv'));
    expect(second).toEqual({ index: 1, id: '', memoryUsedBytes: 283 * MIB, memoryTotalBytes: 196592 * MIB });
    expect(() => parseAmdSmiMonitor('gpu,power\n0,300\n')).toThrow(/missing gpu\/gfx\/vram_used/);
  });
});

describe('the GPUs of one replica', () => {
  it('asks nothing of the host when the replica has no GPUs', async () => {
    const exec = recorded({});
    expect(await readGpuMetrics(undefined, { exec })).toEqual({ gpus: [] });
    expect(exec.calls).toEqual([]);
  });

  it('reports only the NVIDIA GPUs assigned to the replica, by UUID or index', async () => {
    const exec = recorded({ 'nvidia-smi --query-gpu=index,uuid,utilization.gpu,memory.used,memory.total': await fixture('nvidia-smi-metrics-8xA100.csv') });
    const byUuid = await readGpuMetrics({ vendor: 'nvidia', ids: [A100[1]!, A100[2]!] }, { exec, root: '/nonexistent' });
    expect(byUuid.gpus.map((g) => [g.index, g.utilizationPercent])).toEqual([[1, 91], [2, 0]]);
    const byIndex = await readGpuMetrics({ vendor: 'nvidia', ids: ['7'] }, { exec, root: '/nonexistent' });
    expect(byIndex.gpus.map((g) => g.memoryUsedBytes)).toEqual([292 * MIB]);
    expect(exec.calls[0]).toBe('nvidia-smi --query-gpu=index,uuid,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits');
  });

  it('maps amd-smi GPU numbers to the render nodes replicas are given, through the PCI addresses', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'gpu-metrics-root-'));
    await mkdir(path.join(root, 'dev/dri/by-path'), { recursive: true });
    for (const [i, bdf] of ['0000:0c:00.0', '0000:22:00.0'].entries()) {
      await writeFile(path.join(root, `dev/dri/renderD${128 + i * 8}`), '');
      await symlink(`../renderD${128 + i * 8}`, path.join(root, `dev/dri/by-path/pci-${bdf}-render`));
    }
    const exec = recorded({
      'amd-smi static': await fixture('amd-smi-rocm6-2xMI300X.json'),
      'amd-smi monitor': await fixture('amd-smi-monitor-rocm6.4-2xMI300X.csv'),
    });
    const reading = await readGpuMetrics({ vendor: 'amd', ids: ['/dev/dri/renderD128'] }, { exec, root });
    await rm(root, { recursive: true, force: true });
    expect(reading).toEqual({ gpus: [{ index: 0, id: '/dev/dri/renderD128', utilizationPercent: 97, memoryUsedBytes: 181020 * MIB, memoryTotalBytes: 196592 * MIB }] });
  });

  it('names the tool when it is not installed on this host (run for real: no GPU tools here)', async () => {
    const nvidia = await readGpuMetrics({ vendor: 'nvidia', ids: ['GPU-1'] }, { root: '/nonexistent' });
    expect(nvidia).toEqual({ gpus: [], error: 'nvidia-smi is not installed on this host' });
    const amd = await readGpuMetrics({ vendor: 'amd', ids: ['/dev/dri/renderD128'] });
    expect(amd).toEqual({ gpus: [], error: 'amd-smi is not installed on this host' });
  });

  it('says so for vendors whose tools it does not query', async () => {
    expect(await readGpuMetrics({ vendor: 'tenstorrent', ids: ['0'] })).toEqual({ gpus: [], error: 'GPU metrics for tenstorrent GPUs are not supported yet' });
  });
});
