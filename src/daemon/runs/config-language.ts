/**
 * The config language as the daemon uses it: `parseConfigObject` (the same schema the CLI validated with, so
 * both sides agree, SkyServe YAML included) and the pretty printers of the plan.
 */
import { formatDuration, formatResources, parseConfigObject } from '../../core/config/load.js';
import type { PrepareOptions } from '../../core/runs/index.js';

type Language = Pick<PrepareOptions, 'parseConfig' | 'formatResources' | 'formatDuration'>;

export function configLanguage(): Language {
  return {
    parseConfig: (raw) => parseConfigObject(raw, '<applied configuration>'),
    formatResources: (resources) => formatResources(resources),
    formatDuration: (s) => formatDuration(s),
  };
}
