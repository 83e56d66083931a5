import type { ReplicaSpec } from '../../core/model/agent-api.js';
import { AgentError } from '../errors.js';
import { joinCommands } from '../../core/model/commands.js';

/**
 * Splits an entrypoint string the way POSIX `shlex.split` does (dstack applies `shlex.split(entrypoint)`):
 * single quotes are literal, double quotes allow `\"` and `\\`, a bare backslash escapes the next character.
 */
export function splitShellWords(input: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < input.length; i++) {
    const ch = input[i] as string;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && (input[i + 1] === '"' || input[i + 1] === '\\')) word += input[++i];
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < input.length) {
      word += input[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new AgentError('INVALID_SPEC', `entrypoint: unterminated ${quote} quote`, 400);
  if (inWord) words.push(word);
  return words;
}

export { joinCommands };

export interface ContainerCommand {
  /** Replaces the image's ENTRYPOINT; undefined keeps the image's own. */
  entrypoint?: string[];
  /** Replaces the image's CMD; undefined keeps the image's own. */
  cmd?: string[];
}

/** What Docker runs, as dstack applies it: `entrypoint` + commands as arguments, else `<shell> -c <joined>`. */
export function containerCommand(
  spec: Pick<ReplicaSpec, 'entrypoint' | 'commands' | 'shell'> & { imageSetup?: readonly string[] },
): ContainerCommand {
  if (spec.entrypoint !== undefined) return { entrypoint: splitShellWords(spec.entrypoint), cmd: [...spec.commands] };
  if (spec.commands.length > 0) {
    return { entrypoint: [spec.shell, '-c'], cmd: [joinCommands([...(spec.imageSetup ?? []), ...spec.commands])] };
  }
  return {};
}

/** The argv of a process replica; a spec with nothing to run is refused (there is no image to fall back on). */
export function processArgv(spec: Pick<ReplicaSpec, 'entrypoint' | 'commands' | 'shell'>): string[] {
  // No imageSetup here: it prepares an image (e.g. dstack's venv), and a process replica runs on the bare host.
  const { entrypoint, cmd } = containerCommand({ entrypoint: spec.entrypoint, commands: spec.commands, shell: spec.shell });
  const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
  if (argv.length === 0) {
    throw new AgentError('NOTHING_TO_RUN', 'the process runtime needs `commands` (or an entrypoint) to run', 400);
  }
  return argv;
}

/**
 * The replica's environment: dstack's DSTACK_* variables first, then the spec's `env` (user values win, as in
 * dstack's runner). DSTACK_SERVICE_PATH_PREFIX is where the proxy publishes the service, so a web app can build
 * absolute URLs under it (dstack issue #2267) while `strip_prefix` hands it paths without it.
 */
export function replicaEnv(spec: Pick<ReplicaSpec, 'project' | 'runName' | 'replicaNum' | 'gpus' | 'env'>): Record<string, string> {
  const gpus = String(spec.gpus?.ids.length ?? 0);
  return {
    DSTACK_RUN_NAME: spec.runName,
    DSTACK_SERVICE_PATH_PREFIX: `/proxy/services/${spec.project}/${spec.runName}`,
    DSTACK_REPLICA_NUM: String(spec.replicaNum),
    DSTACK_GPUS_NUM: gpus,
    DSTACK_GPUS_PER_NODE: gpus,
    DSTACK_NODES_NUM: '1',
    DSTACK_NODE_RANK: '0',
    ...spec.env,
  };
}
