/**
 * Service config → the run settings the reconciler, prober and router use (state schema `RunSettings`).
 * Replica ranges start at `min` (0 → no replica until traffic arrives; the route holds requests because it can
 * scale from zero); an autoscaler then moves `desiredReplicas` within [min, max] (`setDesired`), per replica group
 * when the service has `groups` (each with its own range and scaling, see groups.ts).
 */
import type { GroupSettings, RunSettings, ProbeSettings } from '../state/schema.js';
import { withGroupDesired } from './groups.js';
import type { ServiceConfig } from '../model/service.js';
import { DEFAULT_FAILURE_THRESHOLD } from '../model/service-parts.js';
import { streamIdleSetting } from './stream-idle.js';

/** `stop_duration: off` would wait forever; an hour is the longest a stop may take. */
export const MAX_STOP_SECONDS = 3600;
/** dstack's default probe when `model` is set and `probes` is not (dstack-notes §2.1). */
export const MODEL_PROBE_TIMEOUT = 30;

function modelProbe(name: string, prefix: string): ProbeSettings {
  return {
    url: `${prefix.replace(/\/$/, '')}/chat/completions`,
    method: 'post',
    headers: [{ name: 'Content-Type', value: 'application/json' }],
    body: JSON.stringify({ model: name, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
    timeoutSeconds: MODEL_PROBE_TIMEOUT,
    intervalSeconds: 15,
    readyAfter: 1,
    untilReady: false,
    failureThreshold: DEFAULT_FAILURE_THRESHOLD,
  };
}

/** The run's replica range (with groups, the sum of theirs, as the config language normalizes it). */
export function replicaRange(config: Pick<ServiceConfig, 'replicas'>): { min: number; max: number } {
  const { min, max } = config.replicas;
  return { min, max: max ?? min };
}

export function buildSettings(config: ServiceConfig): RunSettings {
  const model = config.model;
  let probes: ProbeSettings[];
  if (config.probes !== undefined) {
    probes = config.probes.map((p) => ({
      url: p.url,
      method: p.method,
      headers: p.headers,
      ...(p.body !== undefined ? { body: p.body } : {}),
      timeoutSeconds: p.timeout,
      intervalSeconds: p.interval,
      readyAfter: p.ready_after,
      untilReady: p.until_ready,
      failureThreshold: p.failure_threshold ?? DEFAULT_FAILURE_THRESHOLD,
    }));
  } else if (model) {
    probes = [modelProbe(model.name, model.format === 'openai' ? model.prefix : '/v1')];
    // A TGI server has no OpenAI route to probe; it is gated by the TCP check instead.
    if (model.format === 'tgi') probes = [];
  } else {
    probes = [];
  }
  const groups = config.groups?.map((g): GroupSettings => ({
    name: g.name,
    replicas: { min: g.replicas.min, max: g.replicas.max ?? g.replicas.min },
    autoscaling: g.scaling !== undefined,
    ...(g.scaling !== undefined ? { scaling: g.scaling } : {}),
  }));
  const settings: RunSettings = {
    replicas: replicaRange(config),
    // With groups: some group autoscales (the route may then hold requests while a group scales from zero).
    autoscaling: groups ? groups.some((g) => g.autoscaling) : config.scaling !== undefined,
    probes,
    tcpCheck: probes.length === 0,
    stopDurationSeconds: config.stop_duration === 'off' ? MAX_STOP_SECONDS : Math.min(config.stop_duration, MAX_STOP_SECONDS),
    creationPolicy: config.creation_policy,
    auth: config.auth,
    stripPrefix: config.strip_prefix,
    rateLimits: config.rate_limits.map((l) => ({ prefix: l.prefix, key: l.key, rps: l.rps, burst: l.burst })),
    ...streamIdleSetting(config.stream_idle_timeout),
  };
  if (config.scaling !== undefined) settings.scaling = config.scaling;
  if (groups) settings.groups = groups;
  if (config.max_duration !== 'off') settings.maxDurationSeconds = config.max_duration;
  if (config.retry) settings.retry = { onEvents: config.retry.on_events, durationSeconds: config.retry.duration };
  if (model) {
    settings.model =
      model.format === 'openai'
        ? { name: model.name, format: 'openai', prefix: model.prefix }
        : {
            name: model.name,
            format: 'tgi',
            prefix: '',
            ...(model.chat_template !== undefined ? { chatTemplate: model.chat_template } : {}),
            ...(model.eos_token !== undefined ? { eosToken: model.eos_token } : {}),
          };
  }
  return settings;
}

/**
 * The autoscaler's hook: the desired replica count of `group` (default: the first group with a range), clamped to
 * its range; `desiredReplicas` stays the sum over groups.
 */
export function setDesired<T extends { desiredReplicas: number; settings: RunSettings; desiredByGroup?: Record<string, number> | undefined }>(
  run: T,
  n: number,
  group?: string,
): T {
  return withGroupDesired(run, n, group);
}
