import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cpuPercentBetween, dockerCpuPercent, dockerMemoryUsed, hasPreviousSample, type DockerStats } from '../../../src/agent/metrics/cpu.js';
import { parseProcStat, parseVmRssBytes } from '../../../src/agent/metrics/proc-stats.js';

const fixture = (name: string) => readFile(fileURLToPath(new URL(`../../fixtures/metrics/${name}`, import.meta.url)), 'utf8');

describe('CPU percent as docker stats computes it', () => {
  it('reads the captured stats of a busy-looping container as one core busy, like `docker stats` did', async () => {
    const stats = JSON.parse(await fixture('docker-stats-busy-cgroup1.json')) as DockerStats;
    expect(hasPreviousSample(stats)).toBe(true);
    expect(dockerCpuPercent(stats.cpu_stats, stats.precpu_stats)).toBeCloseTo(91.494, 2);
  });

  it('scales the container share of host CPU time by the online CPUs', () => {
    const previous = { cpu_usage: { total_usage: 1_000_000_000 }, system_cpu_usage: 10_000_000_000, online_cpus: 4 };
    // 1.5 s of container CPU while the 4 host CPUs together ran 4 s: one and a half cores of the four.
    const current = { cpu_usage: { total_usage: 2_500_000_000 }, system_cpu_usage: 14_000_000_000, online_cpus: 4 };
    expect(dockerCpuPercent(current, previous)).toBeCloseTo(150, 6);
  });

  it('counts percpu_usage entries when the engine leaves online_cpus out (older engines)', () => {
    const previous = { cpu_usage: { total_usage: 0 }, system_cpu_usage: 1_000 };
    const current = { cpu_usage: { total_usage: 1_000, percpu_usage: [500, 500] }, system_cpu_usage: 3_000 };
    expect(dockerCpuPercent(current, previous)).toBeCloseTo(100, 6);
  });

  it('reads idle, not negative or infinite, with no earlier sample or a counter that went backwards', () => {
    const oneShot = { cpu_stats: { cpu_usage: { total_usage: 5 }, system_cpu_usage: 100, online_cpus: 2 }, precpu_stats: { cpu_usage: { total_usage: 0 } } };
    expect(hasPreviousSample(oneShot)).toBe(false);
    expect(dockerCpuPercent({ cpu_usage: { total_usage: 5 }, system_cpu_usage: 100 }, { cpu_usage: { total_usage: 9 }, system_cpu_usage: 50 })).toBe(0);
    expect(dockerCpuPercent({ cpu_usage: { total_usage: 5 }, system_cpu_usage: 100, online_cpus: 2 }, { cpu_usage: { total_usage: 1 }, system_cpu_usage: 100 })).toBe(0);
  });

  it('takes the process group CPU time over wall time, 100 per core', () => {
    expect(cpuPercentBetween({ cpuNs: 0, wallNs: 0 }, { cpuNs: 2e9, wallNs: 1e9 })).toBe(200);
    expect(cpuPercentBetween({ cpuNs: 5e9, wallNs: 0 }, { cpuNs: 1e9, wallNs: 1e9 })).toBe(0);
    expect(cpuPercentBetween({ cpuNs: 0, wallNs: 1 }, { cpuNs: 1e9, wallNs: 1 })).toBe(0);
  });
});

describe('memory in use as docker stats computes it', () => {
  it('subtracts total_inactive_file on cgroup v1 (the captured container)', async () => {
    const stats = JSON.parse(await fixture('docker-stats-busy-cgroup1.json')) as DockerStats;
    const m = stats.memory_stats!;
    expect(dockerMemoryUsed(m)).toBe(m.usage! - m.stats!.total_inactive_file!);
    expect(m.limit).toBe(256 * 1024 * 1024);
  });

  it('subtracts inactive_file on cgroup v2, and never goes below zero', () => {
    expect(dockerMemoryUsed({ usage: 10_000, stats: { inactive_file: 4_000, active_file: 1_000 } })).toBe(6_000);
    expect(dockerMemoryUsed({ usage: 10_000, stats: { inactive_file: 12_000 } })).toBe(10_000);
    expect(dockerMemoryUsed({ usage: 10_000, stats: { total_inactive_file: 10_000, inactive_file: 1 } })).toBe(10_000);
    expect(dockerMemoryUsed(undefined)).toBe(0);
  });
});

describe('/proc parsing', () => {
  it('finds the fields after a command name with spaces and parentheses', async () => {
    expect(parseProcStat(await fixture('proc-pid-stat.txt'))).toEqual({ state: 'S', pgrp: 16523, cpuTicks: 0 });
  });

  it('adds the CPU time of reaped children to the process own (utime+stime+cutime+cstime)', async () => {
    expect(parseProcStat(await fixture('proc-pid-stat-busy.txt'))).toEqual({ state: 'S', pgrp: 16830, cpuTicks: 26 + 1 + 42 + 0 });
  });

  it('rejects text that is not a stat line', () => {
    expect(parseProcStat('')).toBeUndefined();
    expect(parseProcStat('12 (x) S 1')).toBeUndefined();
  });

  it('reads VmRSS in bytes, and none for a process without one (kernel thread, zombie)', async () => {
    expect(parseVmRssBytes(await fixture('proc-pid-status.txt'))).toBe(1808 * 1024);
    expect(parseVmRssBytes('Name:\tkthreadd\nState:\tS (sleeping)\n')).toBe(0);
  });
});
