/**
 * How dstack turns `commands` into one shell script (jobs/configurators/base.py): joined with ` && ` so the
 * first failure stops the rest, and a command ending in `&` wrapped as `{ cmd & }` so its `&` is not read as
 * half of `&&`. Shared by the daemon (spec building) and the agent (what the shell runs).
 */
export function joinCommands(commands: readonly string[]): string {
  return commands
    .map((c) => c.trim())
    .filter((c) => c.length > 0)
    .map((c) => (c.endsWith('&') && !c.endsWith('&&') ? `{ ${c} }` : c))
    .join(' && ');
}
