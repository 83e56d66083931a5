/**
 * `-f FILE`, or `-f -` for standard input (`cat svc.yml | dstack apply -f - -y -d`), the Unix convention. Errors
 * then name the file `<stdin>` (`<stdin>:3:1 port: ...`), and apply treats the configuration as if it were a file
 * in the current folder: the repo is found from there and nothing path-like is sent to the daemon.
 */
import { loadConfigFile, loadConfigStream, type LoadedConfig } from '../core/config/load.js';
import { UserError } from '../core/errors.js';
import type { CommandIo } from './base.js';

export const STDIN_ARG = '-';
export const STDIN_NAME = '<stdin>';

export async function loadConfigArg(file: string, io: Pick<CommandIo, 'stdin' | 'stderr'>): Promise<LoadedConfig> {
  if (file !== STDIN_ARG) return loadConfigFile(file);
  // Reading a terminal waits for the user to type; say so instead of looking hung.
  if (io.stdin.isTTY) io.stderr.write('Reading the configuration from standard input (end it with Ctrl+D)...\n');
  return loadConfigStream(io.stdin, STDIN_NAME);
}

/** Standard input can be read once: a second `-f -` would silently get an empty document. */
export function refuseStdinTwice(files: readonly string[]): void {
  if (files.filter((f) => f === STDIN_ARG).length > 1) {
    throw new UserError('CONFIG_STDIN_TWICE', '-f - is given more than once; standard input can be read only once', {
      hint: 'Pass -f - for one configuration and name the others by file.',
    });
  }
}
