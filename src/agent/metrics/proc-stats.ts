/**
 * A process group's CPU time and resident memory from /proc (proc(5)), for replicas run as plain processes:
 * every process whose pgrp is the replica's group, so children it started count too.
 */
import { readFile, readdir } from 'node:fs/promises';
import type { CpuTimeSample } from './cpu.js';

/**
 * USER_HZ: /proc reports CPU times in these ticks. It is fixed at 100 in the Linux user-space ABI on every
 * architecture we ship (sysconf(_SC_CLK_TCK)), independent of the kernel's internal HZ.
 */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcStatFields {
  state: string;
  pgrp: number;
  /** utime + stime + cutime + cstime: its own CPU time and that of children it already reaped (which left the group). */
  cpuTicks: number;
}

/** Parses /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses, so fields start after the last ')'. */
export function parseProcStat(text: string): ProcStatFields | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const num = (i: number) => Number(rest[i] ?? NaN);
  // proc(5): state is field 3, pgrp 5, utime 14, stime 15, cutime 16, cstime 17 (rest[] starts at field 3).
  const ticks = [11, 12, 13, 14].map(num);
  if (ticks.some((t) => !Number.isFinite(t)) || !Number.isFinite(num(2))) return undefined;
  return { state: rest[0] ?? '?', pgrp: num(2), cpuTicks: ticks.reduce((a, b) => a + b, 0) };
}

/** Resident set size from /proc/<pid>/status (`VmRSS:  1234 kB`); kernel threads and zombies have none. */
export function parseVmRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

export interface GroupSample extends CpuTimeSample {
  rssBytes: number;
  /** Live members found; 0 = the group is gone. */
  processes: number;
}

/** One reading of every live member of process group `pgid`. */
export async function sampleProcessGroup(pgid: number, procRoot = '/proc', hrtime: () => bigint = process.hrtime.bigint): Promise<GroupSample> {
  const sample: GroupSample = { cpuNs: 0, wallNs: Number(hrtime()), rssBytes: 0, processes: 0 };
  for (const entry of await readdir(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = parseProcStat(await readFile(`${procRoot}/${entry}/stat`, 'utf8').catch(() => ''));
    if (!stat || stat.pgrp !== pgid || stat.state === 'Z' || stat.state === 'X') continue;
    sample.processes += 1;
    sample.cpuNs += (stat.cpuTicks * 1e9) / CLOCK_TICKS_PER_SECOND;
    sample.rssBytes += parseVmRssBytes(await readFile(`${procRoot}/${entry}/status`, 'utf8').catch(() => ''));
  }
  return sample;
}
