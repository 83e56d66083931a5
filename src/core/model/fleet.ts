/**
 * `type: fleet` (dstack `core/models/fleets.py`, dstack-notes §5.1): SSH fleets (`ssh_config`, the user's own
 * hosts) or cloud fleets (`nodes` + `resources`). Hosts are normalized to objects with every per-host setting
 * resolved (host value, else the `ssh_config` value, else the default).
 */
import { z } from 'zod';
import { issue, whenValid } from './checks.js';
import { foldIdleDuration, profileShape } from './profile.js';
import { Resources } from './resources.js';
import { Env } from './env.js';
import { ResourceName } from './run-base.js';
import { byType, strictObject } from './strict.js';
import { parseCount, parseRange, type Range } from './units.js';

export const FLEET_IDLE_DEFAULT = 3 * 86_400;
/** Cloud fleets' `nodes` (dstack `FleetNodesSpec`): `max` absent = unlimited; `target` is what apply provisions. */
export type FleetNodes = Range & { target: number };

function parseNodesString(s: string, ctx: z.RefinementCtx): FleetNodes {
  const r = parseRange(s, parseCount, 'nodes');
  if (r.ok) return { ...r.value, target: r.value.min };
  ctx.addIssue({ code: 'custom', message: r.message });
  return z.NEVER;
}

const isIPv4 = (s: string) => /^(\d{1,3})(\.\d{1,3}){3}$/.test(s) && s.split('.').every((p) => Number(p) <= 255);

export function isPrivateIp(ip: string): boolean {
  if (!isIPv4(ip)) return false;
  const [a = 0, b = 0] = ip.split('.').map(Number);
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}
function isCidr(s: string): boolean {
  const [ip = '', bits, ...rest] = s.split('/');
  return rest.length === 0 && isIPv4(ip) && bits !== undefined && /^\d+$/.test(bits) && Number(bits) <= 32;
}

/**
 * Built on first use (issue 15): most command lines parse only services, and `dstack validate` of one paid for
 * building every fleet schema too.
 */
function buildFleetSchema() {
  const Blocks = z.union([z.number().int().min(1, 'must be 1 or more'), z.literal('auto')], { error: 'expected a number of blocks or `auto`' });
  const SshPort = z.number().int().min(1).max(65535);
  const NodeCount = z.number().int().min(0, 'must be 0 or more');
  const NodesObject = strictObject({
    min: NodeCount.default(0).describe('The minimum number of instances to maintain in the fleet. Defaults to 0.'),
    target: NodeCount.optional().describe('The number of instances to provision on fleet apply, `min` <= `target` <= `max`. Defaults to `min`.'),
    max: NodeCount.optional().describe('The maximum number of instances allowed in the fleet. Unlimited if not specified.'),
  }).transform((n, ctx): FleetNodes => {
    const target = n.target ?? n.min;
    if (target < n.min) ctx.addIssue({ code: 'custom', message: '`target` must not be less than `min`', path: ['target'] });
    if (n.max !== undefined && n.max < n.min) ctx.addIssue({ code: 'custom', message: '`max` must not be less than `min`', path: ['max'] });
    else if (n.max !== undefined && n.max < target) ctx.addIssue({ code: 'custom', message: '`max` must not be less than `target`', path: ['max'] });
    return n.max === undefined ? { min: n.min, target } : { min: n.min, max: n.max, target };
  });

  const Nodes = byType({
    number: NodeCount.transform((n): FleetNodes => ({ min: n, max: n, target: n })),
    string: z.string().transform(parseNodesString),
    object: NodesObject,
  }, 'a number of instances, a range like `0..4` or `2..`, or an object with `min`, `target`, `max`');

  const ProxyJump = strictObject({
    hostname: z.string().min(1).describe('The jump host.'),
    port: SshPort.optional().describe('The SSH port of the jump host. Defaults to 22.'),
    user: z.string().min(1).optional().describe('The user on the jump host.'),
    identity_file: z.string().min(1).optional().describe('The private key for the jump host.'),
  });

  const HostObject = strictObject({
    hostname: z.string().min(1).describe('The host name or IP address.'),
    port: SshPort.optional().describe('The SSH port of this host.'),
    user: z.string().min(1).optional().describe('The SSH user of this host.'),
    identity_file: z.string().min(1).optional().describe('The private key for this host.'),
    proxy_jump: ProxyJump.optional().describe('A jump host for this host.'),
    internal_ip: z.string().refine(isPrivateIp, 'must be a private IPv4 address').optional().describe('The host address on the private network between hosts.'),
    blocks: Blocks.optional().describe('Split this host into N blocks, or `auto`.'),
  });
  const Host = byType({ string: z.string().min(1).transform((hostname) => ({ hostname })), object: HostObject }, 'a host name or an object with `hostname`');

  const SshConfig = strictObject({
    user: z.string().min(1).optional().describe('The SSH user (for every host unless overridden).'),
    identity_file: z.string().min(1).optional().describe('The private key (RSA, ECDSA or Ed25519, no passphrase).'),
    port: SshPort.default(22).describe('The SSH port. Defaults to 22.'),
    proxy_jump: ProxyJump.optional().describe('A jump (head) host to reach the hosts through.'),
    network: z.string().refine(isCidr, 'expected a network like `10.0.0.0/24`').optional().describe('The private network the hosts use between them.'),
    hosts: z.array(Host).min(1, 'at least one host is required').describe('The hosts: names/addresses, or objects with per-host overrides.'),
  });

  const { backends, regions, availability_zones, instance_types, reservation, spot_policy, retry, max_price, idle_duration,
    termination_policy, termination_idle_time, tags, backend_options } = profileShape(FLEET_IDLE_DEFAULT);

  const FleetObject = strictObject({
    type: z.literal('fleet').describe('The configuration type: `fleet`.'),
    name: ResourceName.optional().describe('The fleet name. If not specified, a random name is generated.'),
    env: Env,
    ssh_config: SshConfig.optional().describe('The SSH hosts of an SSH fleet.'),
    nodes: Nodes.optional().describe('Cloud fleets: the number of instances, a range (`0..4`, `2..`), or `{min, target, max}`.'),
    placement: z.enum(['any', 'cluster']).default('any').describe('`cluster` requires the hosts to reach each other. Defaults to `any`.'),
    blocks: Blocks.default(1).describe('Split each host into N equal blocks of CPUs, memory and GPUs, or `auto`. Defaults to 1.'),
    resources: Resources,
    backends, regions, availability_zones, instance_types, reservation, spot_policy, retry, max_price, idle_duration,
    termination_policy, termination_idle_time, tags, backend_options,
  });

  return FleetObject
    .superRefine((f, ctx) => {
      if (f.ssh_config !== undefined && f.nodes !== undefined) issue(ctx, ['nodes'], '`ssh_config` and `nodes` are mutually exclusive');
      if (f.ssh_config === undefined && f.nodes === undefined) issue(ctx, [], 'a fleet needs `ssh_config` (your own hosts) or `nodes` (cloud instances)');
      const ssh = f.ssh_config;
      if (ssh === undefined) return;
      const withIp = ssh.hosts.filter((h) => 'internal_ip' in h && h.internal_ip !== undefined).length;
      if (withIp > 0 && ssh.network !== undefined) issue(ctx, ['ssh_config', 'network'], '`network` and per-host `internal_ip` are mutually exclusive');
      if (withIp > 0 && withIp < ssh.hosts.length) issue(ctx, ['ssh_config', 'hosts'], 'set `internal_ip` on every host or on none');
      ssh.hosts.forEach((h, i) => {
        if (('user' in h ? h.user : undefined) === undefined && ssh.user === undefined) issue(ctx, ['ssh_config', 'hosts', i], '`user` is required (in `ssh_config` or on the host)');
        if (('identity_file' in h ? h.identity_file : undefined) === undefined && ssh.identity_file === undefined) {
          issue(ctx, ['ssh_config', 'hosts', i], '`identity_file` is required (in `ssh_config` or on the host)');
        }
      });
    }, whenValid(['ssh_config', 'nodes']))
    .transform((f) => {
      const ssh = f.ssh_config;
      const hosts = ssh?.hosts.map((h) => {
        const o: z.output<typeof HostObject> = h;
        return {
          hostname: o.hostname,
          port: o.port ?? ssh.port,
          user: o.user ?? ssh.user ?? '',
          identity_file: o.identity_file ?? ssh.identity_file ?? '',
          ...(o.proxy_jump ?? ssh.proxy_jump ? { proxy_jump: o.proxy_jump ?? ssh.proxy_jump } : {}),
          ...(o.internal_ip ? { internal_ip: o.internal_ip } : {}),
          blocks: o.blocks ?? f.blocks,
        };
      });
      const base = foldIdleDuration(f, FLEET_IDLE_DEFAULT);
      return { ...base, ...(ssh && hosts ? { ssh_config: { ...ssh, hosts } } : {}) };
    })
    .describe('A dstack fleet: your own SSH hosts, or cloud instances.');
}

export const FleetConfigSchema = z.lazy(buildFleetSchema);

export type FleetConfig = z.output<typeof FleetConfigSchema>;
export type SshHostConfig = NonNullable<FleetConfig['ssh_config']>['hosts'][number];
