/**
 * CPU and memory figures from raw counters, computed the way `docker stats` computes them (docker/cli
 * `calculateCPUPercentUnix`, `calculateMemUsageUnixNoCache`), so our numbers match what users see there.
 */

/** The parts of Docker's `GET /containers/:id/stats?stream=false` answer that the figures need. */
export interface DockerCpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null };
  /** Host CPU time of all cores, ns; absent on an engine that had no earlier sample (one-shot). */
  system_cpu_usage?: number;
  online_cpus?: number;
}

export interface DockerStats {
  cpu_stats?: DockerCpuStats;
  precpu_stats?: DockerCpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
}

/** Whether `precpu_stats` holds a real earlier sample (the engine waited for one); otherwise a second call is needed. */
export const hasPreviousSample = (s: DockerStats): boolean => (s.precpu_stats?.system_cpu_usage ?? 0) > 0;

/**
 * Percent of one core over the interval between two samples (100 = one core busy throughout): the container's CPU
 * time delta over the host's, times the online CPUs. A counter that went backwards (restart) reads as idle, not negative.
 */
export function dockerCpuPercent(current: DockerCpuStats | undefined, previous: DockerCpuStats | undefined): number {
  const cpuDelta = (current?.cpu_usage?.total_usage ?? 0) - (previous?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (current?.system_cpu_usage ?? 0) - (previous?.system_cpu_usage ?? 0);
  const online = current?.online_cpus || current?.cpu_usage?.percpu_usage?.length || 0;
  if (systemDelta <= 0 || cpuDelta <= 0) return 0;
  return (cpuDelta / systemDelta) * online * 100;
}

/** Memory in use less the inactive file cache the kernel can drop at once: cgroup v1 names it `total_inactive_file`, v2 `inactive_file`. */
export function dockerMemoryUsed(memory: DockerStats['memory_stats']): number {
  const usage = memory?.usage ?? 0;
  const stats = memory?.stats ?? {};
  const v1 = stats.total_inactive_file;
  if (v1 !== undefined) return v1 < usage ? usage - v1 : usage;
  const v2 = stats.inactive_file ?? 0;
  return v2 < usage ? usage - v2 : usage;
}

/** A process group's CPU time at one moment (ns of CPU time, ns of wall clock). */
export interface CpuTimeSample {
  cpuNs: number;
  wallNs: number;
}

/** Percent of one core between two samples of the same processes; a group whose members exited reads as idle. */
export function cpuPercentBetween(previous: CpuTimeSample, current: CpuTimeSample): number {
  const wall = current.wallNs - previous.wallNs;
  const cpu = current.cpuNs - previous.cpuNs;
  if (wall <= 0 || cpu <= 0) return 0;
  return (cpu / wall) * 100;
}
