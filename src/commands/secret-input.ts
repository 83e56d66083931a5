/**
 * Where `dstack secret set` gets a value that is not on its command line: a file (`-f`), standard input when it is
 * piped, or a prompt that does not echo what is typed. One trailing newline is dropped from a file or a pipe
 * (`echo "$TOKEN" | dstack secret set hf_token` must not store the newline); nothing else is changed.
 */
import { readFile } from 'node:fs/promises';
import { UserError } from '../core/errors.js';
import { MAX_SECRET_VALUE } from '../core/secrets/names.js';
import type { CommandIo } from './base.js';

const dropNewline = (s: string) => s.replace(/\r?\n$/, '');
// Reading stops a little past the limit: enough to say "too long" without holding an endless pipe in memory.
const READ_LIMIT = MAX_SECRET_VALUE * 4 + 2;

export async function readSecretFile(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new UserError('SECRET_FILE_UNREADABLE', `-f ${file}: cannot read (${e.code ?? e.message})`);
  });
  return nonEmpty(dropNewline(text), `-f ${file}`);
}

export async function readSecretStdin(io: Pick<CommandIo, 'stdin' | 'stderr'>, name: string): Promise<string> {
  if (io.stdin.isTTY) return nonEmpty(await readHidden(io, `Enter the value of the secret ${name} (not shown): `), 'the prompt');
  let text = '';
  for await (const chunk of io.stdin as AsyncIterable<Buffer | string>) {
    text += chunk.toString();
    if (text.length > READ_LIMIT) break;
  }
  return nonEmpty(dropNewline(text), 'standard input');
}

function nonEmpty(value: string, from: string): string {
  if (value !== '') return value;
  // Most likely a forgotten pipe or an empty file, not a wish to store nothing.
  throw new UserError('SECRET_VALUE_EMPTY', `no value was read from ${from}`, { hint: 'Pass the value as an argument (`\'\'` for an empty one), with -f FILE, or on standard input.' });
}

/** A line typed in raw mode, so the terminal never shows it; Ctrl+C aborts, Enter or Ctrl+D ends it. */
function readHidden(io: Pick<CommandIo, 'stdin' | 'stderr'>, prompt: string): Promise<string> {
  const { stdin, stderr } = io;
  stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  let value = '';
  return new Promise((resolve, reject) => {
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new UserError('ABORTED', 'Aborted'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else value += ch;
      }
    };
    const onEnd = () => finish();
    stdin.on('data', onData);
    stdin.once('end', onEnd);
  });
}
