/**
 * Service config → the replica spec template sent to agents (ReplicaSpec minus id and replica number), as
 * dstack's JobConfigurator builds a job spec (dstack-notes §1.3): image or the default base image, commands
 * joined into one script run by the shell, env with every required value resolved, working_dir under
 * /workflow when relative, instance volumes as bind mounts, port = the container port, stop timeout from
 * stop_duration. With replica groups each group gets its own template: the top-level fields with the group's
 * `commands`, `image`, `python`, `nvcc`, `privileged` and `resources` in their place.
 */
import { UserError } from '../errors.js';
import { isEnvRequired } from '../model/env.js';
import type { ReplicaSpec } from '../model/agent-api.js';
import { joinCommands, pythonBootstrap, resolveShell } from './commands.js';
import { chooseImage } from './image.js';
import type { ReplicaGroupConfig } from '../model/replicas.js';
import type { ServiceConfig } from '../model/service.js';
import { MAX_STOP_SECONDS } from './settings.js';

export type SpecTemplate = Omit<ReplicaSpec, 'id' | 'replicaNum'>;

export const WORKFLOW_DIR = '/workflow';

export interface SpecContext {
  project: string;
  runName: string;
  /** The daemon's environment (DSTACK_BASE_IMAGE). */
  env: NodeJS.ProcessEnv;
}

export function resolveEnvValues(config: Pick<ServiceConfig, 'env'>): Record<string, string> {
  const out: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, value] of Object.entries(config.env)) {
    if (isEnvRequired(value)) missing.push(key);
    else out[key] = value;
  }
  if (missing.length > 0) {
    throw new UserError('ENV_NOT_SET', `Environment variable ${missing.join(', ')} is not set`, {
      hint: `Pass ${missing.map((k) => `-e ${k}=...`).join(' ')} to dstack apply, or set it in your environment.`,
    });
  }
  return out;
}

export function buildSpecTemplate(config: ServiceConfig, ctx: SpecContext): SpecTemplate {
  const { image, isDstackBase } = chooseImage(config, ctx.env);
  const commands = [...config.commands];
  const imageSetup = isDstackBase && config.python && commands.length > 0 ? pythonBootstrap(config.python) : [];
  if (commands.length === 0 && !config.image && !config.entrypoint) {
    throw new UserError('NO_COMMAND', 'Could not determine what command to run', { hint: 'Set `commands`, or an `image` with its own entrypoint.' });
  }
  const stop = config.stop_duration === 'off' ? MAX_STOP_SECONDS : Math.min(config.stop_duration, MAX_STOP_SECONDS);
  const spec: SpecTemplate = {
    project: ctx.project,
    runName: ctx.runName,
    image,
    pullPolicy: 'if-not-present',
    commands: commands.length > 0 ? [joinCommands(commands)] : [],
    imageSetup,
    shell: resolveShell(config.shell, isDstackBase),
    env: resolveEnvValues(config),
    privileged: config.privileged,
    volumes: config.volumes.flatMap((v) =>
      v.type === 'instance' ? [{ hostPath: v.instance_path, containerPath: v.path, readOnly: false, create: true }] : [],
    ),
    port: config.port.container_port,
    stopTimeoutSeconds: Math.round(stop),
    runtime: 'auto',
  };
  if (config.registry_auth) spec.registryAuth = { ...config.registry_auth };
  if (config.entrypoint !== undefined) spec.entrypoint = config.entrypoint;
  if (config.user !== undefined) spec.user = config.user;
  if (config.working_dir !== undefined) {
    const wd = config.working_dir;
    spec.workingDir = wd.startsWith('/') || wd.startsWith('~') ? wd : `${WORKFLOW_DIR}/${wd.replace(/^\.\/?/, '')}`.replace(/\/$/, '');
  }
  if (config.resources.shm_size !== undefined) spec.shmSizeBytes = config.resources.shm_size;
  return spec;
}

/** The config as one group sees it: the group's own fields replace the top-level ones. */
export function groupConfig(config: ServiceConfig, group: ReplicaGroupConfig): ServiceConfig {
  const { commands, image, python, nvcc, docker, privileged, resources } = group;
  return {
    ...config,
    ...(commands !== undefined ? { commands } : {}),
    ...(image !== undefined ? { image, python: undefined } : {}),
    ...(python !== undefined ? { python, image: undefined } : {}),
    ...(nvcc !== undefined ? { nvcc } : {}),
    ...(docker !== undefined ? { docker } : {}),
    ...(privileged !== undefined ? { privileged } : {}),
    ...(resources !== undefined ? { resources } : {}),
  };
}

/** One spec template per replica group, by group name; undefined for a service without `groups`. */
export function buildGroupSpecTemplates(config: ServiceConfig, ctx: SpecContext): Record<string, SpecTemplate> | undefined {
  if (!config.groups) return undefined;
  return Object.fromEntries(config.groups.map((g) => [g.name, buildSpecTemplate(groupConfig(config, g), ctx)]));
}
