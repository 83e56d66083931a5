/**
 * y/n confirmation in a terminal (dstack: `Submit the run <name>? [y/n]:`). Only ever rendered with a TTY
 * stdin; without one, `BaseCommand.confirmOrFail` fails and names the `-y/--yes` flag instead of prompting.
 */
import { Text, render, useApp, useInput } from 'ink';
import { useState } from 'react';
import { UserError } from '../core/errors.js';

export interface ConfirmProps {
  question: string;
  /** Answer for a bare Enter; undefined = Enter does nothing until y or n. */
  defaultValue?: boolean;
  onAnswer: (answer: boolean | 'abort') => void;
}

export function Confirm({ question, defaultValue, onAnswer }: ConfirmProps) {
  const [answer, setAnswer] = useState<boolean | undefined>(undefined);
  const { exit } = useApp();
  const finish = (value: boolean | 'abort') => {
    if (value !== 'abort') setAnswer(value);
    onAnswer(value);
    exit();
  };
  useInput((input, key) => {
    if (answer !== undefined) return;
    if ((key.ctrl && input === 'c') || key.escape) finish('abort');
    else if (/^y$/i.test(input)) finish(true);
    else if (/^n$/i.test(input)) finish(false);
    else if (key.return && defaultValue !== undefined) finish(defaultValue);
  });
  const choices = defaultValue === undefined ? 'y/n' : defaultValue ? 'Y/n' : 'y/N';
  return (
    <Text>
      {question} [{choices}]: {answer === undefined ? '' : answer ? 'y' : 'n'}
    </Text>
  );
}

export interface AskOptions {
  question: string;
  defaultValue?: boolean;
  stdin?: NodeJS.ReadStream;
  /** Prompts go to stderr with the rest of the progress, keeping stdout for results. */
  stdout?: NodeJS.WriteStream;
}

/** Resolves with the answer; Ctrl+C or Escape rejects with a UserError `ABORTED`. */
export async function askConfirm({ question, defaultValue, stdin, stdout }: AskOptions): Promise<boolean> {
  let result: boolean | 'abort' = 'abort';
  const app = render(
    <Confirm question={question} {...(defaultValue === undefined ? {} : { defaultValue })} onAnswer={(a) => (result = a)} />,
    { stdin: stdin ?? process.stdin, stdout: stdout ?? process.stderr, exitOnCtrlC: false, patchConsole: false },
  );
  await app.waitUntilExit();
  if (result === 'abort') throw new UserError('ABORTED', 'Aborted');
  return result;
}
