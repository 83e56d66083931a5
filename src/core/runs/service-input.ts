/**
 * The fields of a normalized service config (src/core/model, `ServiceConfig`) that the control plane reads.
 * Declared structurally so the run logic states exactly what it depends on; `ServiceConfig` is checked against
 * it at compile time in spec.ts.
 */
import type { EnvSpec } from '../model/env.js';
import type { ResourcesSpec } from '../model/resources.js';
import type { Range } from '../model/units.js';
import type { ScalingSettings } from '../state/schema.js';

export interface ProbeInput {
  type?: 'http';
  url: string;
  method: string;
  headers: { name: string; value: string }[];
  body?: string | undefined;
  timeout: number;
  interval: number;
  ready_after: number;
  until_ready: boolean;
}

export type ModelInput =
  | { type?: 'chat'; name: string; format: 'openai'; prefix: string }
  | { type?: 'chat'; name: string; format: 'tgi'; chat_template?: string | undefined; eos_token?: string | undefined };

export interface RateLimitInput {
  prefix: string;
  key: { type: 'ip_address' } | { type: 'header'; header: string };
  rps: number;
  burst: number;
}

export type VolumeInput =
  | { type: 'network'; name: string[]; path: string }
  | { type: 'instance'; instance_path: string; path: string; optional: boolean };

/** One replica group (`groups:`, or the legacy `replicas: [..]`): what it overrides of the top-level fields. */
export interface GroupInput {
  name: string;
  replicas: Range;
  scaling?: ScalingSettings | undefined;
  resources?: ResourcesSpec | undefined;
  commands?: string[] | undefined;
  image?: string | undefined;
  python?: string | undefined;
  nvcc?: boolean | undefined;
  docker?: boolean | undefined;
  privileged?: boolean | undefined;
}

export interface ServiceInput {
  type: 'service';
  name?: string | undefined;
  port: { local_port?: number; container_port: number };
  replicas: Range | readonly unknown[];
  /** Explicit replica groups; `replicas` is then the sum of their ranges. */
  groups?: readonly GroupInput[] | undefined;
  scaling?: ScalingSettings | undefined;
  model?: ModelInput | undefined;
  auth: boolean;
  strip_prefix: boolean;
  probes?: ProbeInput[] | undefined;
  rate_limits: RateLimitInput[];
  image?: string | undefined;
  python?: string | undefined;
  nvcc?: boolean | undefined;
  docker?: boolean | undefined;
  privileged: boolean;
  entrypoint?: string | undefined;
  working_dir?: string | undefined;
  user?: string | undefined;
  shell?: string | undefined;
  registry_auth?: { username: string; password: string } | undefined;
  commands: string[];
  env: EnvSpec;
  resources: ResourcesSpec;
  volumes: VolumeInput[];
  retry: false | { on_events: string[]; duration: number };
  max_duration: number | 'off';
  stop_duration: number | 'off';
  creation_policy: 'reuse' | 'reuse-or-create';
  spot_policy: 'spot' | 'on-demand' | 'auto';
}
