/**
 * Reads a configuration file and reports every problem with `file:line:col key.path: message`
 * (DESIGN.md §7). File-level failures (missing, a folder, too large, not UTF-8, empty, bad YAML) are one-line
 * UserErrors, never a stack.
 */
import { readFile, stat } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { UserError } from '../errors.js';
import type { AnyConfig, ConfigKind } from '../model/index.js';
import { resolveEnv, type EnvOverrides } from './env.js';
import { parseConfig } from './parse.js';
import { positionOf } from './positions.js';
import { ConfigError, formatPath } from './problems.js';

export const MAX_CONFIG_BYTES = 1024 * 1024;

export interface LoadedConfig {
  path: string;
  kind: ConfigKind;
  /** The parsed YAML object (env resolved when `env` was given): what the CLI sends to the daemon. */
  raw: unknown;
  config: AnyConfig;
}

export interface LoadOptions {
  /** Resolve required env and `${{ env.X }}` (as for `apply`): `-e` values, then the process environment. */
  env?: { overrides?: EnvOverrides; processEnv?: EnvOverrides };
}

async function readText(path: string): Promise<string> {
  const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new UserError('CONFIG_NOT_FOUND', `${path}: no such file`);
    throw new UserError('CONFIG_UNREADABLE', `${path}: cannot read (${e.code ?? e.message})`);
  });
  if (info.isDirectory()) throw new UserError('CONFIG_IS_DIRECTORY', `${path} is a directory; pass a configuration file such as ${path}/service.dstack.yml`);
  if (info.size > MAX_CONFIG_BYTES) throw tooLarge(path, info.size);
  const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new UserError('CONFIG_UNREADABLE', `${path}: cannot read (${e.code ?? e.message})`);
  });
  return decodeText(bytes, path);
}

function tooLarge(path: string, size: number): UserError {
  return new UserError('CONFIG_TOO_LARGE', `${path} is ${(size / 1024 / 1024).toFixed(1)} MiB; configuration files are limited to 1 MiB`);
}

function decodeText(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UserError('CONFIG_NOT_UTF8', `${path} is not UTF-8 text; save it as UTF-8`);
  }
}

export async function loadConfigFile(path: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  return parseConfigText(await readText(path), path, options);
}

/**
 * A configuration that arrives as a stream (standard input for `-f -`); `name` stands for the file in messages.
 * The size limit is checked while reading, so an endless pipe is refused instead of filling memory.
 */
export async function loadConfigStream(stream: AsyncIterable<Uint8Array | string>, name: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      size += buf.length;
      if (size > MAX_CONFIG_BYTES) throw tooLarge(name, size);
      chunks.push(buf);
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError('CONFIG_UNREADABLE', `${name}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  return parseConfigText(decodeText(Buffer.concat(chunks), name), name, options);
}

/** The same as `loadConfigFile` for text already in memory (`path` names it in messages). */
export function parseConfigText(text: string, path: string, options: LoadOptions = {}): LoadedConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const [first] = doc.errors;
  if (first) {
    const { line, col } = lines.linePos(first.pos[0]);
    const why = first.message.split('\n')[0]?.replace(/ at line \d+, column \d+.*$/, '') ?? first.message;
    throw new UserError('CONFIG_YAML_INVALID', `${path}:${line}:${col}: invalid YAML: ${why}`);
  }
  if (doc.contents === null) throw new UserError('CONFIG_EMPTY', `${path} is empty; expected a configuration with \`type: service\` or \`type: fleet\``);
  const parsedRaw: unknown = doc.toJS({ maxAliasCount: 100 });
  const raw = options.env ? resolveEnv(parsedRaw, options.env.overrides, options.env.processEnv) : parsedRaw;
  const r = parseConfig(raw);
  if (r.ok) return { path, kind: r.kind, raw, config: r.config };
  const problems = r.problems.map((p) => ({ file: path, ...positionOf(doc, lines, p.path, p.atKey), path: formatPath(p.path), message: p.message }));
  throw new ConfigError(problems.sort((a, b) => a.line - b.line || a.col - b.col));
}

// Re-exported so callers can take everything about a configuration from one module (the daemon loads this one).
export { parseConfigObject } from './parse.js';
export { resolveEnv } from './env.js';
export { formatResources, formatDuration } from './format.js';
export { ConfigError } from './problems.js';
