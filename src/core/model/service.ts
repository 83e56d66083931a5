/**
 * `type: service` (dstack `ServiceConfiguration` = profile + base run + commands + service params).
 * Mutual exclusions and messages follow dstack so users comparing the two see the same rules.
 */
import { z } from 'zod';
import { issue, whenValid } from './checks.js';
import { foldIdleDuration, profileShape } from './profile.js';
import { Replicas, ReplicaGroups, sumRanges, type ReplicaGroupConfig } from './replicas.js';
import { runBaseShape } from './run-base.js';
import { Fallback, Model, Port, Probe, RateLimits, Scaling, StreamIdleTimeout } from './service-parts.js';
import { strictObject } from './strict.js';
import type { Range } from './units.js';

export const RUN_IDLE_DEFAULT = 300;

const ServiceObject = strictObject({
  type: z.literal('service').describe('The configuration type: `service`.'),
  ...runBaseShape,
  ...profileShape(RUN_IDLE_DEFAULT),
  port: Port,
  gateway: z.union([z.boolean(), z.string().min(1), strictObject({ project: z.string().optional(), name: z.string() })], { error: 'expected a gateway name, `true`, `false` or `{project, name}`' }).optional()
    .describe('The gateway name, or `false` to run without a gateway. Omit to use the default gateway, if any.'),
  strip_prefix: z.boolean().default(true).describe('Strip `/proxy/services/<project>/<run>` before forwarding. Defaults to `true`.'),
  model: Model.optional(),
  https: z.union([z.boolean(), z.literal('auto')], { error: 'expected `true`, `false` or `auto`' }).default(true).describe('Enable HTTPS with a gateway: `true`, `false` or `auto`. Defaults to `true`.'),
  auth: z.boolean().default(true).describe('Require a dstack user token (`Authorization: Bearer`). Defaults to `true`.'),
  replicas: Replicas.optional().describe('The number of replicas: a number (`2`) or a range (`0..4`, needs `scaling`). Defaults to 1.'),
  groups: ReplicaGroups.optional().describe('Heterogeneous replica groups, each with its own `replicas`, `resources`, `commands`, `scaling`.'),
  scaling: Scaling.optional(),
  rate_limits: RateLimits,
  probes: z.array(Probe).max(10, 'at most 10 probes').optional()
    .describe('HTTP probes: readiness, then liveness once ready (`failure_threshold`). Omitted: a default probe when `model` is set; `[]` disables probing.'),
  stream_idle_timeout: StreamIdleTimeout,
  fallback: Fallback.optional(),
});

type Raw = z.output<typeof ServiceObject>;
const isRange = (r: Raw['replicas']): r is Range => r !== undefined && !Array.isArray(r);

const Checked = ServiceObject
  .superRefine((c, ctx) => {
    if (c.image !== undefined && c.python !== undefined) issue(ctx, ['python'], '`image` and `python` are mutually exclusive fields');
  }, whenValid(['image', 'python']))
  .superRefine((c, ctx) => {
    if (c.image !== undefined && c.nvcc === true) issue(ctx, ['nvcc'], '`image` and `nvcc` are mutually exclusive fields');
    if (c.docker === true) {
      const other = (['image', 'python', 'nvcc'] as const).find((k) => c[k] !== undefined && c[k] !== false);
      if (other) issue(ctx, ['docker'], `\`docker\` and \`${other}\` are mutually exclusive fields`);
    }
  }, whenValid(['image', 'python', 'nvcc', 'docker']))
  .superRefine((c, ctx) => {
    if (Array.isArray(c.replicas) && c.groups !== undefined) issue(ctx, ['groups'], '`replicas` (as a list of groups) and `groups` are mutually exclusive');
    else if (c.replicas !== undefined && c.groups !== undefined) issue(ctx, ['groups'], '`replicas` and `groups` are mutually exclusive; set `replicas` in each group');
    const groups = c.groups ?? (Array.isArray(c.replicas) ? c.replicas : undefined);
    if (groups !== undefined) {
      if (c.scaling !== undefined) issue(ctx, ['scaling'], 'with replica groups, set `scaling` in each group');
      if (c.commands.length > 0) issue(ctx, ['commands'], 'with replica groups, set `commands` in each group');
      const key = c.groups !== undefined ? 'groups' : 'replicas';
      const names = new Set<string>();
      let routers = 0;
      groups.forEach((g, i) => {
        if (g.router !== undefined) {
          routers += 1;
          if (routers > 1) issue(ctx, [key, i, 'router'], 'At most one replica group may specify `router`.');
          if (g.replicas.min !== 1 || g.replicas.max !== 1) issue(ctx, [key, i, 'router'], 'For now replica group with `router` must have `replicas: 1`.');
        }
        if (names.has(g.name)) issue(ctx, [key, i, 'name'], `duplicate replica group name \`${g.name}\``);
        names.add(g.name);
        if ((g.commands ?? []).length === 0 && g.image === undefined && c.image === undefined) {
          issue(ctx, [key, i], 'Either `commands` or `image` must be set');
        }
      });
      return;
    }
    if (c.commands.length === 0 && c.image === undefined) issue(ctx, [], 'Either `commands` or `image` must be set');
    const range = isRange(c.replicas) ? c.replicas : undefined;
    if (range && range.min !== range.max && c.scaling === undefined) {
      issue(ctx, ['replicas'], 'When you set `replicas` to a range, ensure to specify `scaling`.');
    }
    if ((range === undefined || range.min === range.max) && c.scaling !== undefined) {
      issue(ctx, ['scaling'], 'To use `scaling`, `replicas` must be set to a range.');
    }
  }, whenValid(['replicas', 'groups', 'scaling', 'commands', 'image']))
  .superRefine((c, ctx) => {
    const f = c.fallback;
    if (f === undefined) return;
    // Spot is what the fallback covers for: with on-demand capacity only there is nothing to fall back from.
    if (c.spot_policy === 'on-demand') issue(ctx, ['fallback'], '`fallback` needs `spot_policy: spot` or `auto` (with `on-demand` every replica is already on demand)');
    if (c.groups !== undefined || Array.isArray(c.replicas)) issue(ctx, ['fallback'], '`fallback` is not supported with replica groups yet');
    const max = c.replicas === undefined ? 1 : isRange(c.replicas) ? c.replicas.max : undefined;
    if (max !== undefined && f.on_demand_base > max) {
      issue(ctx, ['fallback', 'on_demand_base'], `must be at most the maximum number of replicas (${max}); got ${f.on_demand_base}`);
    }
  }, whenValid(['fallback', 'spot_policy', 'replicas', 'groups']));

export const ServiceConfigSchema = Checked.transform((c) => {
  const { replicas, groups: explicitGroups, setup: _setup, home_dir: _home, ...rest } = foldIdleDuration(c, RUN_IDLE_DEFAULT);
  const groups: ReplicaGroupConfig[] | undefined = explicitGroups ?? (Array.isArray(replicas) ? replicas : undefined);
  const total: Range = groups ? sumRanges(groups.map((g) => g.replicas)) : isRange(replicas) ? replicas : { min: 1, max: 1 };
  return {
    ...rest,
    replicas: total,
    ...(groups ? { groups } : {}),
    /** Where the configuration came from: a dstack YAML, or a SkyServe YAML translated (see `skyserve`). */
    source_format: 'dstack' as 'dstack' | 'skyserve',
  };
}).describe('A dstack service: runs replicas of a web app or model behind the proxy.');

export type ServiceConfig = z.output<typeof ServiceConfigSchema> & {
  /** Present when `source_format` is `skyserve`: SkyServe settings with no dstack field, and translation notes. */
  skyserve?: SkyServeExtras;
};
export type ServiceConfigInput = z.input<typeof ServiceObject>;

export interface SkyServeExtras {
  /** Readiness-probe failures are ignored for this long after the first failure (SkyServe default 1200 s). */
  initial_delay_seconds: number;
  load_balancing_policy?: string;
  /** Accelerator alternatives as SkyServe listed them (the `gpu` spec is their union). */
  accelerators?: { name: string; count: number }[];
  /** What was approximated or ignored, one line each. */
  notes: string[];
}
