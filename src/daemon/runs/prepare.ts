/**
 * One applied configuration, checked and turned into everything a run record holds: parsed config, settings,
 * replica spec template, requirements, "not supported yet" report. Plan and apply both go through here, so
 * what the plan shows is what apply does.
 */
import { UserError } from '../../core/errors.js';
import {
  buildGroupSpecTemplates,
  buildSettings,
  buildSpecTemplate,
  checkSupport,
  diffConfigs,
  randomRunName,
  requirementsOf,
  RUN_NAME,
  type ChangeSet,
  type Requirements,
  type ServiceInput,
  type RepoConfigInput,
  type SpecTemplate,
  withRepo,
} from '../../core/runs/index.js';
import type { RepoInfo } from '../../core/api.js';
import type { AnyConfig } from '../../core/model/index.js';
import { Json } from '../../core/model/json.js';
import type { ServiceConfig } from '../../core/model/service.js';
import type { RunRecord, RunSettings } from '../../core/state/schema.js';

export interface ParsedConfig {
  /** The normalized config. */
  config: AnyConfig;
}

export interface PrepareOptions {
  /** The config language's parser (`parseConfigObject`): raw object → normalized, throws ConfigError. */
  parseConfig: (raw: unknown) => ParsedConfig;
  /** Pretty resources (`cpu=2.. mem=8GB.. disk=100GB.. gpu=0..`) and durations, from the config language. */
  formatResources: (config: ServiceInput) => string;
  formatDuration: (seconds: number) => string;
  /** Resolves a `format: tgi` model's chat template and EOS token when the YAML lacks them. */
  resolveTokenizer?: (model: string, hfToken: string | undefined) => Promise<{ chatTemplate: string; eosToken: string; bosToken?: string }>;
  project: string;
  env: NodeJS.ProcessEnv;
  /** Whether a run with this `backends:` goes to SSH fleet hosts (the composite backend's policy). */
  usesFleets?: (backends: string[] | undefined) => boolean;
}

export interface PreparedRun {
  name: string;
  raw: Json;
  parsed: { config: ServiceConfig };
  settings: RunSettings;
  specTemplate: SpecTemplate;
  /** One template per replica group when the service has `groups`. */
  specTemplates: Record<string, SpecTemplate> | undefined;
  requirements: Requirements;
  warnings: string[];
  diff(current: RunRecord): ChangeSet;
}

/** `repo`: the code archive the CLI packed (PlanRequest.repo); it goes into the specs and the diff. */
export async function prepareRun(raw: unknown, o: PrepareOptions, random?: () => number, repo?: RepoInfo): Promise<PreparedRun> {
  const any = o.parseConfig(raw).config;
  if (any.type !== 'service') {
    throw new UserError('NOT_A_SERVICE', `Only \`type: service\` configurations can be applied as runs (got \`${String(any.type)}\`)`);
  }
  const config: ServiceConfig = any;
  const parsed = { config };
  const support = checkSupport(raw, config, { fleets: o.usesFleets?.((config as { backends?: string[] }).backends) ?? false });
  if (support.errors.length > 0) {
    throw new UserError('NOT_SUPPORTED_YET', support.errors.join('; '), { hint: 'Remove these fields or change them as the messages say.' });
  }
  const name = config.name ?? randomRunName(random);
  if (!RUN_NAME.test(name)) throw new UserError('INVALID_RUN_NAME', `invalid run name \`${name}\``);
  const settings = buildSettings(config);
  const specContext = { project: o.project, runName: name, env: o.env };
  const code = (t: SpecTemplate) => withRepo(t, config as RepoConfigInput, repo);
  const groupTemplates = buildGroupSpecTemplates(config, specContext);
  const specTemplates = groupTemplates && Object.fromEntries(Object.entries(groupTemplates).map(([k, t]) => [k, code(t)]));
  // With groups, the run's `specTemplate` is its first group's (what views and older code read).
  const specTemplate = specTemplates ? Object.values(specTemplates)[0]! : code(buildSpecTemplate(config, specContext));
  const model = config.model;
  if (model?.format === 'tgi' && (model.chat_template === undefined || model.eos_token === undefined) && settings.model) {
    if (!o.resolveTokenizer) throw new UserError('TGI_TEMPLATE_UNAVAILABLE', 'set `chat_template` and `eos_token` under `model:`');
    const hfToken = specTemplate.env.HF_TOKEN ?? specTemplate.env.HUGGING_FACE_HUB_TOKEN;
    const t = await o.resolveTokenizer(model.name, hfToken);
    settings.model = {
      ...settings.model,
      chatTemplate: model.chat_template ?? t.chatTemplate,
      eosToken: model.eos_token ?? t.eosToken,
      ...(t.bosToken !== undefined ? { bosToken: t.bosToken } : {}),
    };
  }
  return {
    name,
    // It came over HTTP as JSON, so this only narrows the type.
    raw: Json.parse(raw),
    parsed,
    settings,
    specTemplate,
    specTemplates,
    requirements: requirementsOf(config.resources),
    warnings: support.warnings,
    diff: (current) => {
      const change = repoDiff(diffConfigs(current.config as Record<string, unknown>, config), current.repo, repo);
      // The same YAML can still mean a different container (e.g. DSTACK_BASE_IMAGE changed on the daemon).
      const stored = JSON.stringify([current.specTemplate, current.specTemplates]);
      if (change.action === 'none' && stored !== JSON.stringify([specTemplate, specTemplates])) {
        return { action: 'update', changes: ['replica spec (rolling deployment)'], redeploy: true };
      }
      return change;
    },
  };
}

/** A new code archive (an edited file, even uncommitted) is a rolling deployment, as dstack's code diff is. */
function repoDiff(change: ChangeSet, before: RepoInfo | undefined, after: RepoInfo | undefined): ChangeSet {
  if (before?.sha256 === after?.sha256) return change;
  const action = change.action === 'recreate' ? 'recreate' : 'update';
  return { action, changes: [...change.changes, 'repo changed (rolling deployment)'], redeploy: true };
}

export function planSummary(parsed: ParsedConfig, o: Pick<PrepareOptions, 'formatResources' | 'formatDuration'>) {
  const c = parsed.config as ServiceInput & { max_price?: number; idle_duration?: number | 'off' };
  const duration = (d: number | 'off' | undefined) => (d === undefined || d === 'off' ? 'off' : o.formatDuration(d));
  return {
    resources: o.formatResources(c),
    spotPolicy: c.spot_policy,
    maxPrice: c.max_price !== undefined ? `$${c.max_price}` : 'off',
    retryPolicy: c.retry ? `${o.formatDuration(c.retry.duration)}[${c.retry.on_events.join(', ')}]` : 'off',
    creationPolicy: c.creation_policy,
    idleDuration: duration(c.idle_duration),
    maxDuration: duration(c.max_duration),
  };
}
