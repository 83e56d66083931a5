/**
 * SkyServe service YAML → an equivalent raw dstack service (skyserve-notes §1), parsed afterwards by the one
 * service schema. `origin` maps each produced dstack key back to the SkyServe key it came from, so problems
 * found by the dstack schema still point at the user's own lines.
 */
import type { SkyServeExtras } from '../../model/service.js';
import { issuesToProblems, type ConfigPath, type PathProblem } from '../problems.js';
import { acceleratorsToGpu, parseAccelerators } from './accelerators.js';
import { SKYSERVE, SkyTask } from './schema.js';

export interface Translation {
  raw: Record<string, unknown>;
  extras: SkyServeExtras;
  origin: Record<string, ConfigPath>;
}

export function translateSkyServe(input: unknown): { ok: true; value: Translation } | { ok: false; problems: PathProblem[] } {
  const parsed = SkyTask.safeParse(input);
  if (!parsed.success) return { ok: false, problems: issuesToProblems(parsed.error.issues, input) };
  const t = parsed.data;
  const problems: PathProblem[] = [];
  const notes: string[] = [];
  const raw: Record<string, unknown> = { type: 'service' };
  const origin: Record<string, ConfigPath> = {};
  const set = (key: string, value: unknown, from: ConfigPath) => {
    raw[key] = value;
    origin[key] = from;
  };
  const fail = (path: ConfigPath, message: string) => problems.push({ path, message });

  if (t.name !== undefined) set('name', t.name, ['name']);
  set('auth', false, ['service']);
  notes.push('SkyServe endpoints have no built-in auth, so `auth: false` (add `auth: true` in a dstack YAML to require a token)');

  const port = servicePort(t, fail);
  if (port !== undefined) set('port', port.value, port.from);

  const res = t.resources;
  const resources: Record<string, unknown> = {};
  if (res.cpus !== undefined) resources.cpu = atLeast(res.cpus, '', notes, 'cpus');
  if (res.memory !== undefined) resources.memory = atLeast(res.memory, 'GB', notes, 'memory');
  if (res.disk_size !== undefined) resources.disk = `${res.disk_size}GB..`;
  const accelerators = res.accelerators === undefined ? [] : parseAccelerators(res.accelerators, ['resources', 'accelerators'], problems);
  const gpu = acceleratorsToGpu(accelerators, notes);
  if (gpu) resources.gpu = gpu;
  if (Object.keys(resources).length > 0) set('resources', resources, ['resources']);
  if (res.use_spot !== undefined) set('spot_policy', res.use_spot ? 'spot' : 'on-demand', ['resources', 'use_spot']);
  placement(res, set, fail);
  for (const k of ['disk_tier', 'network_tier', 'labels', 'accelerator_args', 'autostop', 'job_recovery', 'spot_recovery'] as const) {
    if (res[k] !== undefined) notes.push(`resources.${k} has no equivalent here and is ignored`);
  }

  const commands = [t.setup, t.run].filter((s): s is string => s !== undefined && s.trim() !== '').map((s) => s.replace(/\s+$/, ''));
  if (commands.some((c) => c.includes('SKYPILOT_NUM_GPUS_PER_NODE'))) {
    commands.unshift('export SKYPILOT_NUM_GPUS_PER_NODE="${DSTACK_GPUS_NUM:-0}"');
  }
  set('commands', commands, t.run !== undefined ? ['run'] : t.setup !== undefined ? ['setup'] : []);
  if (t.run === undefined && raw.image === undefined) fail([], 'a SkyServe service needs `run`: the command that starts the server');
  if (/\bdocker\s+run\b/.test(t.run ?? '')) notes.push('`run` starts Docker containers; the replica needs Docker inside it (`docker: true` in a dstack YAML)');

  const env = [...envList(t.envs), ...envList(t.secrets)];
  if (env.length > 0) set('env', env, [t.envs ? 'envs' : 'secrets']);
  fileMounts(t, set, fail);
  if (typeof t.workdir === 'string' && t.workdir !== '.') set('repos', [t.workdir], ['workdir']);
  else if (typeof t.workdir === 'object') fail(['workdir'], 'a git `workdir` is not supported; use a local folder');
  if ((t.num_nodes ?? 1) > 1) fail(['num_nodes'], 'multi-node replicas are not supported; use `num_nodes: 1`');
  if (t.config !== undefined) notes.push('the task-level `config` override is ignored');

  const initialDelay = probe(t, set, fail);
  replicas(t, set, fail, notes);
  if (t.service.tls) notes.push('`service.tls` is ignored: the proxy serves plain HTTP on 127.0.0.1');
  if (t.service.load_balancing_policy) notes.push(`load_balancing_policy \`${t.service.load_balancing_policy}\` is served as least-outstanding-requests`);
  if (problems.length > 0) return { ok: false, problems };
  const extras: SkyServeExtras = {
    initial_delay_seconds: initialDelay,
    ...(t.service.load_balancing_policy ? { load_balancing_policy: t.service.load_balancing_policy } : {}),
    ...(accelerators.length > 0 ? { accelerators } : {}),
    notes,
  };
  return { ok: true, value: { raw, extras, origin } };
}

type Set = (key: string, value: unknown, from: ConfigPath) => void;
type Fail = (path: ConfigPath, message: string) => void;

function servicePort(t: SkyTask, fail: Fail): { value: number; from: ConfigPath } | undefined {
  if (t.service.ports !== undefined) return { value: t.service.ports, from: ['service', 'ports'] };
  const p = t.resources.ports;
  const list = p === undefined ? [] : Array.isArray(p) ? p : [p];
  const only = list.length === 1 ? String(list[0]) : undefined;
  if (only !== undefined && /^\d+$/.test(only)) return { value: Number(only), from: ['resources', 'ports'] };
  fail(p === undefined ? ['resources'] : ['resources', 'ports'],
    p === undefined ? 'a service needs a port: set `resources.ports` (or `service.ports`)' : 'several ports are open; set `service.ports` to the one that serves');
  return undefined;
}

/** SkyPilot `2` / `2+` / `4x`: on existing hosts we read them as minimums. */
function atLeast(v: number | string, unit: string, notes: string[], key: string): string | undefined {
  const s = String(v).trim();
  const m = /^(\d+(?:\.\d+)?)\+?$/.exec(s);
  if (!m) {
    notes.push(`resources.${key} \`${s}\` has no equivalent here; the default applies`);
    return undefined;
  }
  if (!s.endsWith('+')) notes.push(`resources.${key}: ${s} is read as at least ${s} (hosts are matched, not instance types picked)`);
  return `${m[1]}${unit}..`;
}

function placement(res: SkyTask['resources'], set: Set, fail: Fail): void {
  const [cloud, region, zone] = (res.infra ?? '').split('/');
  const backend = res.cloud ?? (cloud && cloud !== '*' ? cloud : undefined);
  if (backend) set('backends', [backend.toLowerCase()], ['resources', res.cloud ? 'cloud' : 'infra']);
  const r = res.region ?? (region && region !== '*' ? region : undefined);
  if (r) set('regions', [r], ['resources', res.region ? 'region' : 'infra']);
  const z = res.zone ?? zone;
  if (z) set('availability_zones', [z], ['resources', res.zone ? 'zone' : 'infra']);
  if (res.instance_type) set('instance_types', [res.instance_type], ['resources', 'instance_type']);
  if (typeof res.image_id === 'string') {
    if (res.image_id.startsWith('docker:')) set('image', res.image_id.slice('docker:'.length), ['resources', 'image_id']);
    else fail(['resources', 'image_id'], 'only `docker:<image>` image ids are supported');
  } else if (res.image_id !== undefined) fail(['resources', 'image_id'], 'per-region image ids are not supported; use `docker:<image>`');
}

function envList(envs: Record<string, string | number | boolean | null> | undefined): string[] {
  // SkyPilot: a null value must be passed at launch (`--env KEY=…`), which is dstack's bare `- KEY`.
  return Object.entries(envs ?? {}).map(([k, v]) => (v === null ? k : `${k}=${String(v)}`));
}

function fileMounts(t: SkyTask, set: Set, fail: Fail): void {
  const files: string[] = [];
  for (const [dst, src] of Object.entries(t.file_mounts ?? {})) {
    if (typeof src === 'string' && !/^[a-z0-9]+:\/\//i.test(src)) files.push(`${src}:${dst}`);
    else fail(['file_mounts', dst], 'cloud storage mounts are not supported; only local files can be mounted');
  }
  if (files.length > 0) set('files', files, ['file_mounts']);
}

function probe(t: SkyTask, set: Set, fail: Fail): number {
  const rp = t.service.readiness_probe ?? '/';
  const p = typeof rp === 'string' ? { path: rp } : rp;
  const from: ConfigPath = ['service', 'readiness_probe'];
  if (!p.path.startsWith('/')) fail(typeof rp === 'string' ? from : [...from, 'path'], 'readiness_path must start with a slash (/)');
  let body: string | undefined;
  if (typeof p.post_data === 'string') {
    try {
      body = JSON.stringify(JSON.parse(p.post_data));
    } catch {
      fail([...from, 'post_data'], '`post_data` must be valid JSON');
    }
  } else if (p.post_data !== undefined) body = JSON.stringify(p.post_data);
  set('probes', [{
    type: 'http',
    url: p.path,
    method: body === undefined ? 'get' : 'post',
    headers: Object.entries(p.headers ?? {}).map(([name, value]) => ({ name, value })),
    ...(body === undefined ? {} : { body }),
    timeout: Math.max(1, Math.round(p.timeout_seconds ?? SKYSERVE.probeTimeoutSeconds)),
    interval: SKYSERVE.probeIntervalSeconds,
    ready_after: 1,
  }], from);
  return p.initial_delay_seconds ?? SKYSERVE.initialDelaySeconds;
}

function replicas(t: SkyTask, set: Set, fail: Fail, notes: string[]): void {
  const { replicas: fixed, replica_policy: policy } = t.service;
  if (fixed !== undefined && policy !== undefined) {
    fail(['service', 'replica_policy'], 'Cannot specify both `replicas` and `replica_policy`');
    return;
  }
  if (policy === undefined) {
    set('replicas', fixed ?? SKYSERVE.minReplicas, ['service', fixed === undefined ? 'readiness_probe' : 'replicas']);
    return;
  }
  const from: ConfigPath = ['service', 'replica_policy'];
  const min = policy.min_replicas;
  const max = policy.max_replicas ?? min;
  if (max < min) return fail([...from, 'max_replicas'], '`max_replicas` must be greater than or equal to `min_replicas`');
  const target = policy.target_qps_per_replica;
  if (typeof target === 'object') return fail([...from, 'target_qps_per_replica'], 'per-accelerator `target_qps_per_replica` is not supported; give one number');
  if (min !== max && target === undefined) {
    return fail(from, 'Detected different min_replicas and max_replicas while target_qps_per_replica is not set. To enable autoscaling, please set target_qps_per_replica.');
  }
  set('replicas', min === max ? min : `${min}..${max}`, from);
  if (target !== undefined && min !== max) {
    set('scaling', {
      metric: 'rps',
      target,
      window: SKYSERVE.qpsWindowSeconds,
      scale_up_delay: Math.round(policy.upscale_delay_seconds ?? SKYSERVE.upscaleDelaySeconds),
      scale_down_delay: Math.round(policy.downscale_delay_seconds ?? SKYSERVE.downscaleDelaySeconds),
    }, [...from, 'target_qps_per_replica']);
  } else if (target !== undefined) notes.push('target_qps_per_replica has no effect with min_replicas = max_replicas');
  fallback(t, set, fail);
  for (const k of ['num_overprovision', 'spot_placer'] as const) {
    if (policy[k] !== undefined) notes.push(`replica_policy.${k} is ignored`);
  }
}

/** SkyServe's two on-demand fallback fields → `fallback` (skyserve-notes §2.6); like SkyServe, only for spot resources. */
function fallback(t: SkyTask, set: Set, fail: Fail): void {
  const policy = t.service.replica_policy;
  const base = policy?.base_ondemand_fallback_replicas;
  const dynamic = policy?.dynamic_ondemand_fallback;
  if (base === undefined && dynamic === undefined) return;
  const key = base !== undefined ? 'base_ondemand_fallback_replicas' : 'dynamic_ondemand_fallback';
  const from: ConfigPath = ['service', 'replica_policy', key];
  if (t.resources.use_spot !== true) return fail(from, `\`${key}\` requires spot resources: set \`use_spot: true\` in \`resources\``);
  set('fallback', { ...(base !== undefined ? { on_demand_base: base } : {}), ...(dynamic !== undefined ? { dynamic } : {}) }, from);
}
