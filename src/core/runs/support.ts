/**
 * Every configuration field whose behaviour is not built yet, in ONE place (later issues delete lines here).
 * Nothing is silently ignored: a field that would change behaviour if ignored is an error at plan/apply time;
 * a harmless one is a warning printed above the confirmation. Checked against the RAW config, so only fields the
 * user actually wrote are reported (normalized configs carry defaults for everything).
 */
import { unsupportedFields } from '../config/unsupported-fields.js';
import type { ServiceConfig } from '../model/service.js';

export interface SupportReport {
  errors: string[];
  warnings: string[];
}

/** Where the run would go: SSH fleet hosts (GPUs, other CPU architectures, `instance_types`) or this machine. */
export interface SupportContext {
  fleets: boolean;
}

type Raw = Record<string, unknown>;
type Check = (raw: Raw, config: ServiceConfig, where: SupportContext) => { error?: string; warning?: string } | undefined;

const notYet = (field: string, why = '') => `\`${field}\` is not supported yet${why ? ` (${why})` : ''}`;
const has = (raw: Raw, key: string) => raw[key] !== undefined && raw[key] !== null;
const nonEmpty = (raw: Raw, key: string) => {
  const value = raw[key];
  return Array.isArray(value) ? value.length > 0 : has(raw, key);
};
const isRaw = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

const CHECKS: Check[] = [
  // `fleets:` and `backends:` pick SSH fleet instances or the local machine (the daemon's placement).
  (raw) => (nonEmpty(raw, 'instances') ? { error: notYet('instances', 'use `fleets` to pick hosts') } : undefined),
  (raw) => {
    if (!nonEmpty(raw, 'backends')) return undefined;
    const list = Array.isArray(raw.backends) ? raw.backends.map(String) : [];
    const unknown = list.filter((b) => !['local', 'ssh', 'remote'].includes(b));
    return unknown.length === 0 ? undefined : { error: notYet('backends', `only \`local\` and SSH fleets (\`ssh\`, \`remote\`) exist; got ${unknown.join(', ')}`) };
  },
  (raw) => (nonEmpty(raw, 'regions') ? { warning: '`regions` is ignored: this machine and SSH fleet hosts have no regions' } : undefined),
  (raw) => (nonEmpty(raw, 'availability_zones') ? { warning: '`availability_zones` is ignored: this machine and SSH fleet hosts have no zones' } : undefined),
  // On fleet hosts the scheduler honours `instance_types` (dstack-notes §5).
  (raw, _c, where) => (nonEmpty(raw, 'instance_types') && !where.fleets ? { warning: '`instance_types` is ignored by the local backend' } : undefined),
  (raw) => (has(raw, 'reservation') ? { warning: '`reservation` is ignored: there are no cloud reservations' } : undefined),
  // With `fallback` the placement puts replicas on spot cloud instances only (core/runs/spot-fallback.ts).
  (_raw, c, where) => (c.spot_policy === 'spot' && !(where.fleets && c.fallback) ? { error: notYet('spot_policy: spot', 'this machine and SSH fleet hosts have no spot capacity') } : undefined),
  (raw) => (has(raw, 'max_price') ? { warning: '`max_price` has no effect: this machine and SSH fleet hosts cost nothing (price 0)' } : undefined),
  (raw) => (has(raw, 'idle_duration') ? { warning: '`idle_duration` has no effect: this machine and SSH fleet hosts are never terminated' } : undefined),
  (raw) => (has(raw, 'schedule') ? { error: notYet('schedule') } : undefined),
  (raw) => (has(raw, 'utilization_policy') ? { error: notYet('utilization_policy') } : undefined),
  (raw) => (has(raw, 'gateway') && raw.gateway !== false ? { error: notYet('gateway', 'services are published by the local proxy') } : undefined),
  (raw) => (has(raw, 'https') && raw.https !== 'auto' ? { warning: '`https` has no effect without a gateway: the local proxy serves HTTP' } : undefined),
  (raw) => (has(raw, 'single_branch') ? { warning: '`single_branch` is ignored: a `repos:` URL is cloned with `branch` only' } : undefined),
  (raw) => (raw.docker === true ? { error: notYet('docker', 'Docker-in-Docker') } : undefined),
  (raw) => (raw.dstack === true ? { error: notYet('dstack') } : undefined),
  (_raw, c) => (c.groups?.some((g) => g.docker === true) ? { error: 'replica groups with `docker: true` are not supported yet (Docker-in-Docker)' } : undefined),
  (_raw, c, where) =>
    !where.fleets && c.groups?.some((g) => (g.resources?.gpu.count.min ?? 0) > 0) ? { error: notYet('GPUs on the local backend', 'add your GPU hosts as an SSH fleet: `dstack apply -f fleet.dstack.yml`') } : undefined,
  (raw) => (has(raw, 'priority') ? { warning: '`priority` is ignored: runs are not queued' } : undefined),
  (raw) => (has(raw, 'setup') ? { warning: '`setup` is deprecated and ignored; put these commands in `commands`' } : undefined),
  (raw) => (has(raw, 'home_dir') ? { warning: '`home_dir` is deprecated and ignored' } : undefined),
  (raw) => (has(raw, 'termination_policy') || has(raw, 'termination_idle_time') ? { warning: '`termination_policy` / `termination_idle_time` are deprecated and ignored' } : undefined),
  (raw) => (has(raw, 'startup_order') || has(raw, 'stop_criteria') ? { warning: '`startup_order` / `stop_criteria` only apply to multi-node tasks; ignored' } : undefined),
  (raw) => (has(raw, 'tags') ? { warning: '`tags` is ignored: no cloud resources are created' } : undefined),
  (raw) => (has(raw, 'backend_options') ? { warning: '`backend_options` is ignored: there are no cloud backends' } : undefined),
  (_raw, c) => (c.volumes.some((v) => v.type === 'network' ) ? { error: notYet('network volumes', 'use an instance path like `/data:/data`') } : undefined),
  // Fleet hosts report their GPUs and CPU architecture; the scheduler matches them (the run waits, naming what is missing).
  (_raw, c, where) => (!where.fleets && (c.resources.gpu.count.min ?? 0) > 0 ? { error: notYet('GPUs on the local backend', 'add your GPU hosts as an SSH fleet: `dstack apply -f fleet.dstack.yml`') } : undefined),
  (_raw, c, where) => (!where.fleets && c.resources.cpu.arch === 'arm' && process.arch !== 'arm64' ? { error: '`cpu: arm` does not match this x86 machine' } : undefined),
];

export function checkSupport(raw: unknown, config: ServiceConfig, where: SupportContext = { fleets: false }): SupportReport {
  const r = isRaw(raw) ? raw : {};
  const report: SupportReport = { errors: [], warnings: [] };
  for (const check of CHECKS) {
    const result = check(r, config, where);
    if (result?.error) report.errors.push(result.error);
    if (result?.warning) report.warnings.push(result.warning);
  }
  // Fields the schema parses for dstack's documented configurations but nothing acts on yet (`backend_options` is
  // reported above, as a warning: it only orders offers of a cloud that does not exist here).
  for (const f of unsupportedFields(config, raw)) if (f.path !== 'backend_options') report.errors.push(f.message);
  return report;
}
