/**
 * y/n confirmation in a terminal (dstack: `Submit the run <name>? [y/n]:`), read a line at a time as dstack's
 * prompt does: `y⏎` typed fast, pasted or sent by `expect` as one chunk is one answer, and a wrong answer asks
 * again. Only ever used with a TTY stdin; without one, `BaseCommand.confirmOrFail` fails and names the `-y/--yes`
 * flag instead of prompting.
 */
import { createInterface, type Interface } from 'node:readline';
import { UserError } from '../core/errors.js';

export interface AskOptions {
  question: string;
  /** Answer for a bare Enter; undefined = Enter asks again. */
  defaultValue?: boolean;
  stdin?: NodeJS.ReadStream;
  /** Prompts go to stderr with the rest of the progress, keeping stdout for results. */
  stdout?: NodeJS.WriteStream;
}

const aborted = () => new UserError('ABORTED', 'Aborted');

/** One line, or ABORTED on Ctrl+C (SIGINT in raw mode) or end of input. */
function readLine(rl: Interface, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const abort = () => {
      cleanup();
      reject(aborted());
    };
    const cleanup = () => {
      rl.off('SIGINT', abort);
      rl.off('close', abort);
    };
    rl.once('SIGINT', abort);
    rl.once('close', abort);
    rl.question(prompt, (line) => {
      cleanup();
      resolve(line);
    });
  });
}

/** Resolves with the answer; Ctrl+C or end of input rejects with a UserError `ABORTED`. */
export async function askConfirm({ question, defaultValue, stdin, stdout }: AskOptions): Promise<boolean> {
  const input = stdin ?? process.stdin;
  const output = stdout ?? process.stderr;
  const rl = createInterface({ input, output, terminal: Boolean(input.isTTY && output.isTTY) });
  const choices = defaultValue === undefined ? 'y/n' : defaultValue ? 'Y/n' : 'y/N';
  try {
    for (;;) {
      const answer = (await readLine(rl, `${question} [${choices}]: `)).trim().toLowerCase();
      if (answer === 'y' || answer === 'yes') return true;
      if (answer === 'n' || answer === 'no') return false;
      if (answer === '' && defaultValue !== undefined) return defaultValue;
      output.write('Please enter y or n\n');
    }
  } finally {
    rl.close();
  }
}
