/**
 * Profile parameters shared by runs and fleets (dstack `core/models/profiles.py`): where and how capacity is
 * provisioned. Durations are seconds, or `'off'` for unlimited.
 */
import { z } from 'zod';
import { byType, strictObject } from './strict.js';
import { Duration, DurationOrOff } from './units.js';

export const RETRY_EVENTS = ['no-capacity', 'interruption', 'error'] as const;
export type RetryEvent = (typeof RETRY_EVENTS)[number];
export interface RetryConfig {
  on_events: RetryEvent[];
  /** Seconds. */
  duration: number;
}
/** dstack DEFAULT_RETRY_DURATION. */
export const DEFAULT_RETRY_DURATION = 3600;

const RetryObject = strictObject({
  on_events: z.array(z.enum(RETRY_EVENTS)).min(1, 'at least one event is required; omit `on_events` to retry on all events')
    .default([...RETRY_EVENTS]).describe('The events to retry on: `no-capacity`, `interruption`, `error`. Defaults to all.'),
  duration: Duration.default(DEFAULT_RETRY_DURATION).describe('The maximum period of retrying the run, e.g. `4h` or `1d`. Defaults to `1h`.'),
});

export const Retry = byType({
  boolean: z.boolean().transform((b): RetryConfig | false => (b ? { on_events: [...RETRY_EVENTS], duration: DEFAULT_RETRY_DURATION } : false)),
  object: RetryObject,
}, '`true`, `false` or an object with `on_events` and `duration`');

const names = (what: string) => z.array(z.string().min(1)).optional().describe(what);

export const UtilizationPolicy = strictObject({
  min_gpu_utilization: z.number().int().min(0).max(100).describe('Minimum GPU utilization, percent (0..100).'),
  time_window: Duration.pipe(z.number().min(300, 'must be at least 5m')).describe('The window the utilization is averaged over, at least `5m`.'),
});

const Schedule = strictObject({
  cron: byType({ string: z.string().transform((c) => [c]), array: z.array(z.string()).min(1) }, 'a cron expression or a list of them')
    .describe('Cron expression(s) saying when to start the run.'),
});

const InstanceRef = byType({
  string: z.string().transform((name) => ({ name })),
  object: strictObject({
    name: z.string().optional().describe('Instance name.'),
    hostname: z.string().optional().describe('Instance hostname (SSH fleets).'),
    fleet: z.string().optional().describe('Fleet name.'),
    instance: z.union([z.string(), z.number()]).optional().describe('Instance name or number within `fleet`.'),
  }),
}, 'an instance name or an object');

/** dstack `VastAIProfileOptions`, the one member of `AnyBackendProfileOptions` (backends/profile_options.py). */
const VastAIOptions = strictObject({
  type: z.literal('vastai').describe('The backend these options apply to: `vastai`.'),
  offer_order: z.enum(['score', 'price'], { error: 'expected `score` or `price`' }).optional().describe(
    'Controls the order in which offers are considered for provisioning. Use `score` to prioritize the highest overall score first ' +
      '(the default order in the Vast.ai console), or `price` to prioritize the lowest-cost offers first. Defaults to `score`.',
  ),
  min_reliability: z.number().min(0).max(1).optional().describe('The minimum reliability threshold for offers, on a scale from `0` to `1`. Defaults to `0.9`.'),
  min_score: z.number().int().min(0).optional().describe('The minimum overall score required for offers to be considered.'),
});

export const BackendOptions = z.array(
  z.discriminatedUnion('type', [VastAIOptions], { error: () => 'expected `type: vastai` (the only backend with options)' }),
).superRefine((options, ctx) => {
  const seen = new Set<string>();
  options.forEach((o, i) => {
    if (seen.has(o.type)) ctx.addIssue({ code: 'custom', message: `backend_options contains duplicate entry for backend '${o.type}'`, path: [i, 'type'] });
    seen.add(o.type);
  });
}).optional().describe('Backend-specific options, applied only to offers from that backend.');

/** The profile fields, spread into the service and fleet shapes. `idleDefault` differs (runs 5m, fleets 3d). */
export function profileShape(idleDefault: number) {
  return {
    backends: names('The backends to consider for provisioning (e.g. `[aws, gcp]`).'),
    regions: names('The regions to consider for provisioning (e.g. `[eu-west-1, us-west4]`).'),
    availability_zones: names('The availability zones to consider for provisioning.'),
    instance_types: names('The cloud-specific instance types to consider (e.g. `[p3.8xlarge, n1-standard-4]`).'),
    reservation: z.string().optional().describe('An existing reservation to provision in (AWS Capacity Reservations and Capacity Blocks).'),
    spot_policy: z.enum(['spot', 'on-demand', 'auto']).default('on-demand').describe('`spot`, `on-demand` or `auto`. Defaults to `on-demand`.'),
    retry: Retry.default(false).describe('The policy for resubmitting the run: `true` (all events, 1h) or `{on_events, duration}`. Defaults to `false`.'),
    max_duration: DurationOrOff.default('off').describe('The maximum duration of a run (e.g. `2h`, `1d`); `off` for unlimited. Defaults to `off`.'),
    stop_duration: DurationOrOff.default(300).describe('Time to wait for a graceful stop before killing (e.g. `5m`); `off` to wait forever. Defaults to `5m`.'),
    max_price: z.number().positive().optional().describe('The maximum instance price per hour, in dollars.'),
    creation_policy: z.enum(['reuse', 'reuse-or-create']).default('reuse-or-create').describe('`reuse` only uses existing instances; `reuse-or-create` may create them. Defaults to `reuse-or-create`.'),
    idle_duration: DurationOrOff.optional().describe(`Time to wait before terminating idle instances; \`off\` for never. Defaults to ${idleDefault === 300 ? '5m' : '3d'}.`),
    termination_policy: z.enum(['dont-destroy', 'destroy-after-idle']).optional().describe('Deprecated in favor of `idle_duration`.'),
    termination_idle_time: DurationOrOff.optional().describe('Deprecated in favor of `idle_duration`.'),
    utilization_policy: UtilizationPolicy.optional().describe('Terminate the run if GPU utilization stays below `min_gpu_utilization` for `time_window`.'),
    startup_order: z.enum(['any', 'master-first', 'workers-first']).optional().describe('Multi-node only: the order in which jobs start.'),
    stop_criteria: z.enum(['all-done', 'master-done']).optional().describe('Multi-node only: when the run is done.'),
    schedule: Schedule.optional().describe('Start the run on a cron schedule.'),
    fleets: names('The fleets to consider for reuse (names or `project/name`).'),
    instances: z.array(InstanceRef).optional().describe('The instances to consider for reuse.'),
    tags: z.record(z.string(), z.string()).optional().describe('Tags to put on cloud resources.'),
    backend_options: BackendOptions,
  };
}

type ProfileFields = { idle_duration?: number | 'off'; termination_policy?: string; termination_idle_time?: number | 'off' };

/** Folds the deprecated `termination_*` fields into `idle_duration` and applies its default. */
export function foldIdleDuration<T extends ProfileFields>(c: T, idleDefault: number): Omit<T, 'termination_policy' | 'termination_idle_time'> & { idle_duration: number | 'off' } {
  const { termination_policy, termination_idle_time, ...rest } = c;
  const idle = c.idle_duration ?? (termination_policy === 'dont-destroy' ? 'off' : termination_idle_time ?? idleDefault);
  return { ...rest, idle_duration: idle };
}
