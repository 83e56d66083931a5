/**
 * Every problem in a configuration, reported at once (STYLE.md "Schema first"): zod issues become
 * `{path, message}` problems with readable messages; the loader adds `file:line:col`.
 */
import type { z } from 'zod';
import { UserError } from '../errors.js';
import { closest } from '../model/strict.js';

export type ConfigPath = (string | number)[];

/** A problem before positions are known. `atKey`: point at the key itself (unknown fields), not its value. */
export interface PathProblem {
  path: ConfigPath;
  message: string;
  atKey?: boolean;
}

export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  /** Dotted key path, `probes[0].url`; empty for the whole document. */
  path: string;
  message: string;
}

export function formatPath(path: readonly (string | number | symbol)[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc === '' ? String(k) : `${acc}.${String(k)}`), '');
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  return p.path === '' ? `${where}: ${p.message}` : `${where} ${p.path}: ${p.message}`;
}

/** An invalid configuration, with every problem; the message is one line per problem. */
export class ConfigError extends UserError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super('CONFIG_INVALID', problems.map(formatProblem).join('\n'), {
      hint: problems.length > 1 ? `${problems.length} problems; fix them and run \`dstack validate -f FILE\` again` : undefined,
    });
    this.problems = problems;
  }
}

const ZOD_DEFAULT = /^(Invalid input|Invalid option|Too big|Too small|Invalid string|Invalid value|Invalid element|Invalid key|Invalid discriminator|Unrecognized key)/;

export function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `\`${v}\``;
  return typeof v === 'number' ? `the number ${v}` : `\`${String(v)}\``;
}

const EXPECTED: Record<string, string> = {
  string: 'a string', number: 'a number', int: 'an integer', boolean: '`true` or `false`', array: 'a list', object: 'a mapping',
};

function message(issue: z.core.$ZodIssue, raw: unknown): string {
  const value = valueAt(raw, issue.path);
  const last = issue.path[issue.path.length - 1];
  if (!ZOD_DEFAULT.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined && typeof last === 'string') return `\`${last}\` is required`;
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeValue(value)}`;
    case 'invalid_value': {
      const options = issue.values.map((v) => `\`${String(v)}\``).join(', ');
      const hint = typeof value === 'string' ? closest(value, issue.values.map(String)) : undefined;
      const got = value === undefined && typeof last === 'string' ? `\`${last}\` is required; ` : '';
      const base = issue.values.length === 1 ? `${got}expected ${options}` : `${got}expected one of ${options}`;
      return value === undefined ? base : `${base}, got ${describeValue(value)}${hint ? `; did you mean \`${hint}\`?` : ''}`;
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const word = issue.code === 'too_small' ? (issue.inclusive ? 'at least' : 'greater than') : issue.inclusive ? 'at most' : 'less than';
      if (issue.origin === 'array') return `must have ${word} ${String(bound)} item${Number(bound) === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return Number(bound) === 1 && issue.code === 'too_small' ? 'must not be empty' : `must be ${word} ${String(bound)} characters`;
      return `must be ${word} ${String(bound)}`;
    }
    case 'invalid_format':
      return `invalid format: ${describeValue(value)}`;
    default:
      return `invalid value ${describeValue(value)}`;
  }
}

/** Zod issues → problems; an unknown-keys issue becomes one problem per key, positioned at that key. */
export function issuesToProblems(issues: readonly z.core.$ZodIssue[], raw: unknown): PathProblem[] {
  const out: PathProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const lines = issue.message.split('\n');
      issue.keys.forEach((key, i) => out.push({ path: [...path, key], message: lines[i] ?? `unknown field \`${key}\``, atKey: true }));
    } else out.push({ path, message: message(issue, raw) });
  }
  return out;
}
