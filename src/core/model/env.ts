/**
 * `env` (dstack `core/models/envs.py`): a list of `KEY=VALUE` / `KEY=` (empty) / bare `KEY` (required, resolved
 * by the CLI from `-e` or its own environment), or a map. Numbers are coerced to strings; `null` is rejected;
 * duplicate keys are rejected. Normalized: `{KEY: "value" | {required: true}}`.
 */
import { z } from 'zod';
import { byType } from './strict.js';

export interface EnvRequired {
  required: true;
}
export type EnvValue = string | EnvRequired;
export type EnvSpec = Record<string, EnvValue>;

export const ENV_REQUIRED: EnvRequired = Object.freeze({ required: true as const });
export const ENV_KEY = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isEnvRequired(v: EnvValue | undefined): v is EnvRequired {
  return typeof v === 'object' && v !== null && v.required === true;
}

/** Names of the variables that must be given with `-e NAME=…` or the CLI's environment. */
export function requiredEnvNames(env: EnvSpec): string[] {
  return Object.entries(env).filter(([, v]) => isEnvRequired(v)).map(([k]) => k);
}

const badKey = (k: string) => `invalid environment variable name \`${k}\`; expected letters, digits and \`_\`, not starting with a digit`;

const EnvList = z.array(z.unknown()).transform((items, ctx): EnvSpec => {
  const env: EnvSpec = {};
  items.forEach((item, i) => {
    if (typeof item !== 'string') {
      ctx.addIssue({ code: 'custom', message: 'expected `KEY=VALUE`, `KEY=` or `KEY` (a string)', path: [i] });
      return;
    }
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (!ENV_KEY.test(key)) ctx.addIssue({ code: 'custom', message: badKey(key), path: [i] });
    else if (key in env) ctx.addIssue({ code: 'custom', message: `duplicate environment variable \`${key}\``, path: [i] });
    else env[key] = eq < 0 ? ENV_REQUIRED : item.slice(eq + 1);
  });
  return env;
});

const EnvMap = z.record(z.string(), z.unknown()).transform((map, ctx): EnvSpec => {
  const env: EnvSpec = {};
  for (const [key, value] of Object.entries(map)) {
    if (!ENV_KEY.test(key)) ctx.addIssue({ code: 'custom', message: badKey(key), path: [key] });
    else if (typeof value === 'string') env[key] = value;
    else if (typeof value === 'number' && Number.isFinite(value)) env[key] = String(value);
    else {
      const hint = value === null ? '; give a value or use the list form `- KEY` for a required variable' : ' (quote it)';
      ctx.addIssue({ code: 'custom', message: `expected a string value for \`${key}\`${hint}`, path: [key] });
    }
  }
  return env;
});

export const Env = byType({ array: EnvList, object: EnvMap }, 'a list of `KEY=VALUE` or a map of names to values')
  .default({})
  .describe('The mapping or the list of environment variables. A bare `KEY` in the list form must be given at apply time.');
