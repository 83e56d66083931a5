export { joinCommands } from '../model/commands.js';

/** `sh` / `bash` shorthands as dstack accepts them; absolute paths as given. */
export function resolveShell(shell: string | undefined, isDstackBase: boolean): string {
  if (shell === 'sh') return '/bin/sh';
  if (shell === 'bash') return '/bin/bash';
  if (shell) return shell;
  return isDstackBase ? '/bin/bash' : '/bin/sh';
}

/** dstack's base image creates a uv venv with the requested Python before the user's commands. */
export function pythonBootstrap(python: string): string[] {
  return [`uv venv -q --prompt dstack -p ${python} --seed /dstack/venv`, '. /dstack/venv/bin/activate'];
}
