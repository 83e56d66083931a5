/**
 * `replicas` (an int, a range `min..max`, or — legacy — a list of replica groups) and `groups`
 * (heterogeneous replica groups, dstack `ReplicaGroup`).
 */
import { z } from 'zod';
import { ResourcesObject } from './resources.js';
import { Python } from './run-base.js';
import { Scaling } from './service-parts.js';
import { byType, strictObject } from './strict.js';
import { parseCount, parseRange, type Range } from './units.js';

function parseReplicaRange(s: string, ctx: z.RefinementCtx): Range {
  const r = parseRange(s, parseCount, 'replicas');
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message });
  else if (r.value.max === undefined) ctx.addIssue({ code: 'custom', message: 'The maximum number of replicas is required' });
  else return r.value;
  return z.NEVER;
}

export const ReplicaCount = byType({
  number: z.number().int().min(0, 'must be 0 or more').transform((n): Range => ({ min: n, max: n })),
  string: z.string().transform(parseReplicaRange),
}, 'a number of replicas or a range like `1..4`');

export const GROUP_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** dstack `ReplicaGroupRouterConfig` (routers.py): a group whose replicas run an in-service router. */
export const ROUTER_TYPES = ['sglang', 'dynamo'] as const;
export const ReplicaGroupRouter = strictObject({
  type: z.enum(ROUTER_TYPES, { error: 'expected `sglang` or `dynamo`' }).default('sglang').describe(
    'The router implementation for this replica group. `sglang` runs the SGLang router and dstack syncs worker URLs to it. ' +
      '`dynamo` runs the NVIDIA Dynamo frontend, which discovers workers itself via etcd/NATS. Defaults to `sglang`.',
  ),
});

const ReplicaGroupObject = strictObject({
  name: z.string().regex(GROUP_NAME, 'must match `^[a-z0-9][a-z0-9-]{0,39}$`').optional().describe('The group name. Defaults to its index.'),
  replicas: ReplicaCount.optional().describe('The number of replicas, or a range (needs `scaling`).'),
  count: ReplicaCount.optional().describe('Alias of `replicas`.'),
  scaling: Scaling.optional(),
  resources: ResourcesObject.optional().describe('The resources of this group; defaults to the service\'s `resources`.'),
  commands: z.array(z.string()).optional().describe('The commands of this group.'),
  image: z.string().min(1).optional().describe('The Docker image of this group.'),
  python: Python.optional().describe('The Python version of this group.'),
  nvcc: z.boolean().optional().describe('Use the base image with NVCC.'),
  docker: z.boolean().optional().describe('Docker-in-Docker.'),
  privileged: z.boolean().optional().describe('Run in privileged mode.'),
  spot_policy: z.enum(['spot', 'on-demand', 'auto']).optional().describe('`spot`, `on-demand` or `auto`.'),
  reservation: z.string().optional().describe('A reservation to provision in.'),
  router: ReplicaGroupRouter.optional().describe('When set, replicas in this group run the in-service HTTP router (e.g. SGLang).'),
});

export type ReplicaGroupConfig = Omit<z.output<typeof ReplicaGroupObject>, 'count' | 'replicas' | 'name'> & {
  name: string;
  replicas: Range;
};

export const ReplicaGroups = z.array(ReplicaGroupObject).min(1).transform((groups, ctx): ReplicaGroupConfig[] =>
  groups.map(({ count, replicas, name, ...rest }, i) => {
    if (count !== undefined && replicas !== undefined) {
      ctx.addIssue({ code: 'custom', message: '`count` is an alias of `replicas`; set only one', path: [i, 'count'] });
    }
    const range = replicas ?? count ?? { min: 1, max: 1 };
    if (range.min !== range.max && rest.scaling === undefined) {
      ctx.addIssue({ code: 'custom', message: 'When you set `replicas` to a range, ensure to specify `scaling`.', path: [i, 'replicas'] });
    }
    return { name: name ?? String(i), replicas: range, ...rest };
  }),
);

/** `replicas` in any of its forms; a list is the legacy spelling of `groups`. */
export const Replicas = byType({
  number: ReplicaCount,
  string: ReplicaCount,
  array: ReplicaGroups,
}, 'a number of replicas, a range like `1..4`, or a list of replica groups');

export function sumRanges(ranges: readonly Range[]): Range {
  const min = ranges.reduce((a, r) => a + r.min, 0);
  const maxes = ranges.map((r) => r.max);
  return maxes.every((m): m is number => m !== undefined) ? { min, max: maxes.reduce((a, m) => a + m, 0) } : { min };
}
