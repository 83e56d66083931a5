/**
 * One applied configuration, checked and turned into everything a run record holds: normalized config, settings,
 * replica spec templates, requirements, "not supported yet" report. Plan and apply both go through here, so
 * what the plan shows is what apply does. Pure apart from the injected `resolveTokenizer`.
 */
import type { RepoInfo } from '../api.js';
import { UserError } from '../errors.js';
import { checkGroupRefs } from './group-refs.js';
import type { AnyConfig } from '../model/index.js';
import { Json } from '../model/json.js';
import { checkSecretReferences, maskPaths, resolveSecrets, type KeyPath } from '../secrets/index.js';
import type { ResourcesSpec } from '../model/resources.js';
import type { ServiceConfig } from '../model/service.js';
import type { RunSettings } from '../state/schema.js';
import { RUN_NAME, randomRunName } from './names.js';
import { withRepo } from './repo-spec.js';
import { requirementsOf, type Requirements } from './requirements.js';
import { buildSettings } from './settings.js';
import { buildGroupSpecTemplates, buildSpecTemplate, type SpecTemplate } from './spec.js';
import { checkSupport } from './support.js';

/** The config language (injected by the daemon's adapter) and where the run goes. */
export interface PrepareOptions {
  /** The config language's parser (`parseConfigObject`): raw object → normalized, throws ConfigError. */
  parseConfig: (raw: unknown) => AnyConfig;
  /** Pretty resources (`cpu=2.. mem=8GB.. disk=100GB.. gpu=0..`) and durations, from the config language. */
  formatResources: (resources: ResourcesSpec) => string;
  formatDuration: (seconds: number) => string;
  /** Resolves a `format: tgi` model's chat template and EOS token when the YAML lacks them. */
  resolveTokenizer?: (model: string, hfToken: string | undefined) => Promise<{ chatTemplate: string; eosToken: string; bosToken?: string }>;
  project: string;
  env: NodeJS.ProcessEnv;
  /** Whether a run with this `backends:` goes to SSH fleet hosts (the composite backend's policy). */
  usesFleets?: (backends: string[] | undefined) => boolean;
  /** The project's secrets (name → value): `${{ secrets.NAME }}` must name one of them. Absent = none. */
  secrets?: () => ReadonlyMap<string, string>;
}

export interface PreparedRun {
  name: string;
  /** As applied, with the values the caller supplied (`secretPaths`) masked: it is what views show. */
  raw: Json;
  config: ServiceConfig;
  /** The code archive the CLI packed (PlanRequest.repo); it is in the spec templates and in the diff. */
  repo: RepoInfo | undefined;
  settings: RunSettings;
  specTemplate: SpecTemplate;
  /** One template per replica group when the service has `groups`. */
  specTemplates: Record<string, SpecTemplate> | undefined;
  requirements: Requirements;
  warnings: string[];
}

export async function prepareRun(raw: unknown, o: PrepareOptions, random?: () => number, repo?: RepoInfo, secretPaths: readonly KeyPath[] = []): Promise<PreparedRun> {
  const config = o.parseConfig(raw);
  if (config.type !== 'service') {
    throw new UserError('NOT_A_SERVICE', `Only \`type: service\` configurations can be applied as runs (got \`${String(config.type)}\`)`);
  }
  const support = checkSupport(raw, config, { fleets: o.usesFleets?.(config.backends) ?? false });
  if (support.errors.length > 0) {
    throw new UserError('NOT_SUPPORTED_YET', support.errors.join('; '), { hint: 'Remove these fields or change them as the messages say.' });
  }
  const name = config.name ?? randomRunName(random);
  if (!RUN_NAME.test(name)) throw new UserError('INVALID_RUN_NAME', `invalid run name \`${name}\``);
  // `${{ groups[i].replicas[j].IP_ADDRESS }}`: a typo or an index beyond the groups is refused here, not at start.
  const groups = config.groups ?? [];
  checkGroupRefs([config.commands ?? [], ...groups.map((g) => g.commands ?? [])], groups.map((g) => g.replicas.max ?? g.replicas.min ?? 1));
  const specContext = { project: o.project, runName: name, env: o.env };
  const code = (t: SpecTemplate) => withRepo(t, config, repo);
  const groupTemplates = buildGroupSpecTemplates(config, specContext);
  const specTemplates = groupTemplates && Object.fromEntries(Object.entries(groupTemplates).map(([k, t]) => [k, code(t)]));
  // With groups, the run's `specTemplate` is its first group's (what views and older code read).
  const specTemplate = specTemplates ? Object.values(specTemplates)[0]! : code(buildSpecTemplate(config, specContext));
  // The templates keep the references; replicas get the values when they start (reconcile/spec.ts's caller).
  const secrets = o.secrets?.() ?? new Map<string, string>();
  const hidden = new Set(secretPaths.filter((p) => p.length === 2 && (p[0] === 'env' || p[0] === 'envs')).map((p) => `env.${p[1]}`));
  checkSecretReferences([specTemplate, ...Object.values(specTemplates ?? {})], new Set(secrets.keys()), hidden);
  return {
    name,
    // It came over HTTP as JSON, so this only narrows the type.
    raw: maskPaths(Json.parse(raw), secretPaths),
    config,
    repo,
    settings: await withTokenizer(buildSettings(config), config, resolveSecrets(specTemplate, secrets), o),
    specTemplate,
    specTemplates,
    requirements: requirementsOf(config.resources),
    warnings: support.warnings,
  };
}

/** A `format: tgi` model needs its chat template and EOS token; the YAML's win over the model repo's. */
async function withTokenizer(settings: RunSettings, config: ServiceConfig, spec: SpecTemplate, o: PrepareOptions): Promise<RunSettings> {
  const model = config.model;
  if (model?.format !== 'tgi' || (model.chat_template !== undefined && model.eos_token !== undefined) || !settings.model) return settings;
  if (!o.resolveTokenizer) throw new UserError('TGI_TEMPLATE_UNAVAILABLE', 'set `chat_template` and `eos_token` under `model:`');
  const t = await o.resolveTokenizer(model.name, spec.env.HF_TOKEN ?? spec.env.HUGGING_FACE_HUB_TOKEN);
  const resolved = {
    ...settings.model,
    chatTemplate: model.chat_template ?? t.chatTemplate,
    eosToken: model.eos_token ?? t.eosToken,
    ...(t.bosToken !== undefined ? { bosToken: t.bosToken } : {}),
  };
  return { ...settings, model: resolved };
}

/** The plan's one-line policies, as dstack's plan table prints them. */
export function planSummary(config: ServiceConfig, o: Pick<PrepareOptions, 'formatResources' | 'formatDuration'>) {
  const duration = (d: number | 'off' | undefined) => (d === undefined || d === 'off' ? 'off' : o.formatDuration(d));
  return {
    resources: o.formatResources(config.resources),
    spotPolicy: config.spot_policy,
    maxPrice: config.max_price !== undefined ? `$${config.max_price}` : 'off',
    retryPolicy: config.retry ? `${o.formatDuration(config.retry.duration)}[${config.retry.on_events.join(', ')}]` : 'off',
    creationPolicy: config.creation_policy,
    idleDuration: duration(config.idle_duration),
    maxDuration: duration(config.max_duration),
  };
}
