/**
 * Service-only fields (dstack `ServiceConfigurationParams`, see dstack-notes §2.1): port, model, scaling,
 * probes, rate limits. Defaults are dstack's, so configs written for dstack mean the same thing here.
 */
import { z } from 'zod';
import { byType, strictObject } from './strict.js';
import { Duration, DurationOrOff } from './units.js';

export interface PortMapping {
  local_port: number;
  container_port: number;
}
const portNumber = z.number().int().min(1, 'must be 1..65535').max(65535, 'must be 1..65535');

function parsePortString(s: string, ctx: z.RefinementCtx): PortMapping {
  const m = /^\s*(\*|\d+)\s*(?::\s*(\d+)\s*)?$/.exec(s);
  const [local, container] = m?.[2] === undefined ? ['80', m?.[1]] : [m[1], m[2]];
  if (m === null || local === '*' || container === undefined) {
    const why = m !== null && local === '*' ? '`*` is not allowed for a service port' : `invalid port \`${s}\``;
    ctx.addIssue({ code: 'custom', message: `${why}; expected \`8000\` or \`LOCAL:CONTAINER\` like \`8080:8000\`` });
    return z.NEVER;
  }
  const [l, c] = [Number(local), Number(container)];
  if (l < 1 || l > 65535 || c < 1 || c > 65535) ctx.addIssue({ code: 'custom', message: `invalid port \`${s}\`; ports must be 1..65535` });
  return { local_port: l, container_port: c };
}

export const Port = byType({
  number: portNumber.transform((container_port): PortMapping => ({ local_port: 80, container_port })),
  string: z.string().transform(parsePortString),
  object: strictObject({
    local_port: portNumber.default(80).describe('The port on the proxy side. Defaults to 80.'),
    container_port: portNumber.describe('The port the application listens on in the container.'),
  }),
}, 'a port number, `LOCAL:CONTAINER`, or an object with `container_port`')
  .describe('The port that the application listens on, or the mapping (e.g. `8000` or `8080:8000`).');

export const SCALING_WINDOWS = [30, 60, 300] as const;
export const Scaling = strictObject({
  metric: z.enum(['rps']).describe('The target metric to track. Only `rps` (requests per second) is supported.'),
  target: z.number().gt(0, 'must be greater than 0').describe('The target value of the metric per replica.'),
  window: Duration.refine((w) => (SCALING_WINDOWS as readonly number[]).includes(w), 'must be `30s`, `60s` or `300s`')
    .default(60).describe('The window the metric is averaged over: `30s`, `60s` or `300s`. Defaults to `60s`.'),
  scale_up_delay: Duration.default(300).describe('The delay before scaling up again, in seconds or e.g. `5m`. Defaults to 300.'),
  scale_down_delay: Duration.default(600).describe('The delay before scaling down again, in seconds or e.g. `10m`. Defaults to 600.'),
}, 'The auto-scaling rules. Required if `replicas` is a range.');

const OpenAIModel = strictObject({
  type: z.literal('chat').default('chat').describe('The type of the model. Must be `chat`.'),
  name: z.string().min(1).describe('The name of the model.'),
  format: z.literal('openai').describe('The serving format: `openai`.'),
  prefix: z.string().startsWith('/', 'must start with `/`').default('/v1').describe('The base_url prefix (after the host). Defaults to `/v1`.'),
});
const TgiModel = strictObject({
  type: z.literal('chat').default('chat').describe('The type of the model. Must be `chat`.'),
  name: z.string().min(1).describe('The name of the model.'),
  format: z.literal('tgi').describe('The serving format: `tgi`.'),
  chat_template: z.string().optional().describe('The custom prompt template (Jinja). Defaults to the one in the model repo on Hugging Face.'),
  eos_token: z.string().optional().describe('The custom end of sentence token. Defaults to the one in the model repo.'),
});
export const Model = byType({
  string: z.string().min(1).transform((name) => ({ type: 'chat' as const, name, format: 'openai' as const, prefix: '/v1' })),
  object: z.discriminatedUnion('format', [OpenAIModel, TgiModel], { error: () => 'expected `format` to be `openai` or `tgi`' }),
}, 'a model name or an object with `name` and `format`')
  .describe('Publish the model on the OpenAI-compatible endpoint. A name means `{type: chat, name, format: openai, prefix: /v1}`.');

const HEADER_NAME = /^[a-zA-Z0-9-_]+$/;
export { DEFAULT_FAILURE_THRESHOLD } from './probe-defaults.js';
export const PROBE_METHODS = ['get', 'post', 'put', 'delete', 'patch', 'head'] as const;
export const Probe = strictObject({
  type: z.literal('http').default('http').describe('The probe type. Only `http`.'),
  url: z.string().startsWith('/', 'must start with `/`').max(2048).regex(/^[\x20-\x7e]*$/, 'must be printable ASCII').default('/')
    .describe('The path to request. Defaults to `/`. Supports `${{ env.NAME }}`.'),
  method: z.enum(PROBE_METHODS).default('get').describe('The HTTP method. Defaults to `get`.'),
  headers: z.array(strictObject({
    name: z.string().regex(HEADER_NAME, 'invalid header name').describe('Header name.'),
    value: z.string().describe('Header value. Supports `${{ env.NAME }}`.'),
  })).max(16).default([]).describe('Request headers (at most 16).'),
  body: z.string().optional().describe('The request body (not for `get` or `head`).'),
  timeout: Duration.pipe(z.number().min(1, 'must be at least 1s').max(300, 'must be at most 300s')).default(10).describe('The request timeout. Defaults to `10s`.'),
  interval: Duration.pipe(z.number().min(1, 'must be at least 1s')).default(15).describe('The interval between probes. Defaults to `15s`.'),
  ready_after: z.number().int().min(1).default(1).describe('Consecutive successes before the replica is ready. Defaults to 1.'),
  until_ready: z.boolean().default(false).describe('Stop probing once the replica is ready. Defaults to `false`.'),
  failure_threshold: z.number().int().min(1).optional().describe(
    'Consecutive failures after which a replica that was ready is unhealthy: it leaves routing at once (unless it is ' +
      'the last one serving) and is replaced if it does not recover within a grace period (3 min, ' +
      '`DSTACK_UNHEALTHY_GRACE_SECONDS` on the server). Not in dstack, whose probes only gate readiness; a probe with ' +
      '`until_ready` never checks liveness. Defaults to 3.',
  ),
}).superRefine((p, ctx) => {
  if (p.body !== undefined && (p.method === 'get' || p.method === 'head')) {
    ctx.addIssue({ code: 'custom', message: `\`body\` is not allowed with method \`${p.method}\``, path: ['body'] });
  }
});

const RateLimitKey = z.discriminatedUnion('type', [
  strictObject({ type: z.literal('ip_address').describe('Partition by client IP address.') }),
  strictObject({
    type: z.literal('header').describe('Partition by a request header.'),
    header: z.string().regex(HEADER_NAME, 'invalid header name').describe('The header name.'),
  }),
], { error: () => 'expected `type` to be `ip_address` or `header`' });

export const RateLimit = strictObject({
  prefix: z.string().regex(/^\/[^\s\\{}]*$/, 'must start with `/` and contain no spaces, `\\`, `{` or `}`').default('/')
    .describe('The path prefix the limit applies to; the longest matching prefix wins. Defaults to `/`.'),
  key: RateLimitKey.default({ type: 'ip_address' }).describe('How requests are partitioned: `{type: ip_address}` or `{type: header, header}`.'),
  rps: z.number().min(1 / 60, 'must be at least 1/60 (one request per minute)').describe('Allowed requests per second.'),
  burst: z.number().int().min(0).default(0).describe('Requests allowed above the rate before rejecting. Defaults to 0.'),
});

export const RateLimits = z.array(RateLimit).superRefine((limits, ctx) => {
  const seen = new Set<string>();
  limits.forEach((l, i) => {
    if (seen.has(l.prefix)) ctx.addIssue({ code: 'custom', message: `duplicate rate limit prefix \`${l.prefix}\``, path: [i, 'prefix'] });
    seen.add(l.prefix);
  });
}).default([]).describe('Rate limits per path prefix; requests over the limit get 429.');

/**
 * Not a dstack field: dstack's in-server proxy cuts any read that waits longer than DSTACK_SERVICE_CLIENT_TIMEOUT
 * (60 s, every service alike) and its gateway's nginx after 300 s, which ends slow LLM prefills (dstack #3274, #4239).
 */
export const StreamIdleTimeout = DurationOrOff.optional().describe(
  'How long a request through the proxy may go without a byte in either direction before it is cut, waiting for ' +
    "the response's first byte (e.g. an LLM's prefill) included: `504` before the answer starts, a closed " +
    'connection after. A stream that keeps sending is never cut. `off` for no limit. Defaults to `10m`, or to ' +
    '`DSTACK_SERVICE_CLIENT_TIMEOUT` seconds when the server sets it.',
);

/**
 * Not a dstack field: SkyServe's `base_ondemand_fallback_replicas` and `dynamic_ondemand_fallback` (skyserve-notes
 * §2.6) for a service whose replicas run on spot instances, so a preemption does not take its capacity away.
 */
export const Fallback = strictObject({
  on_demand_base: z.number().int().min(0).default(0)
    .describe('Replicas numbered below this always run on on-demand instances; the rest on spot. At most the maximum number of replicas. Defaults to 0.'),
  dynamic: z.boolean().default(false).describe(
    'Cover each spot replica that was preempted (or whose spot instance could not be created) with an extra on-demand ' +
      'replica until a spot replica is running and ready again; then the cover is drained and stopped. Defaults to `false`.',
  ),
}, 'On-demand fallback for spot replicas (needs `spot_policy: spot` or `auto`), e.g. `{on_demand_base: 1, dynamic: true}`.');
