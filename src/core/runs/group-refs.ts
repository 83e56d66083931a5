/**
 * `${{ groups[i].replicas[j].IP_ADDRESS }}` in a service's commands (dstack `utils/nodes_interpolator.py`): the
 * address of replica j of group i, filled in when the replica that uses it starts, once that one runs. `$${{ … }}`
 * is an escape and stays. Any other `groups…` reference is refused at apply, as are indices beyond the groups and
 * their maximum replicas.
 */
import { UserError } from '../errors.js';

export interface GroupIpRef {
  group: number;
  replica: number;
  /** `groups[0].replicas[1].IP_ADDRESS`, as the user wrote it without spaces. */
  name: string;
}

const ANY_REF = /(?<!\$)\$\{\{\s*([^}]+?)\s*\}\}/g;
const IP_REF = /^groups\[(\d+)\]\.replicas\[(\d+)\]\.IP_ADDRESS$/;
const isGroupsNamespace = (name: string) => /^groups\b/.test(name);

/** The IP references in `s`; other `groups` references throw (a typo must not reach the container). */
export function groupIpRefs(s: string): GroupIpRef[] {
  const refs: GroupIpRef[] = [];
  for (const m of s.matchAll(ANY_REF)) {
    const name = m[1]!.trim();
    if (!isGroupsNamespace(name)) continue;
    const ip = IP_REF.exec(name);
    if (!ip) throw illegal(name, 'the only `groups` reference is `groups[i].replicas[j].IP_ADDRESS`');
    refs.push({ group: Number(ip[1]), replica: Number(ip[2]), name });
  }
  return refs;
}

/** Apply-time check of every command: the names, and indices within the groups (`maxReplicas` per group, in order). */
export function checkGroupRefs(commandsByGroup: ReadonlyArray<readonly string[]>, maxReplicas: readonly number[]): void {
  for (const commands of commandsByGroup) {
    for (const command of commands) {
      for (const ref of groupIpRefs(command)) {
        if (ref.group >= maxReplicas.length) throw illegal(ref.name, `the service has ${maxReplicas.length} group${maxReplicas.length === 1 ? '' : 's'}`);
        if (ref.replica >= maxReplicas[ref.group]!) throw illegal(ref.name, `group ${ref.group} has at most ${maxReplicas[ref.group]} replica${maxReplicas[ref.group] === 1 ? '' : 's'}`);
      }
    }
  }
}

/** Commands with every reference replaced by `address(ref)`; the first reference without an address is returned instead. */
export function fillGroupRefs(commands: readonly string[], address: (ref: GroupIpRef) => string | undefined): { commands: string[] } | { waiting: GroupIpRef } {
  const out: string[] = [];
  for (const command of commands) {
    let missing: GroupIpRef | undefined;
    const filled = command.replace(ANY_REF, (whole, inner: string) => {
      const name = inner.trim();
      const ip = IP_REF.exec(name);
      if (!ip || missing) return whole;
      const ref = { group: Number(ip[1]), replica: Number(ip[2]), name };
      const value = address(ref);
      if (value === undefined) missing = ref;
      return value ?? whole;
    });
    if (missing) return { waiting: missing };
    out.push(filled);
  }
  return { commands: out };
}

export const hasGroupRefs = (commands: readonly string[]): boolean => commands.some((c) => groupIpRefs(c).length > 0);

function illegal(name: string, why: string): UserError {
  return new UserError('INVALID_REFERENCE', `Illegal reference name: ${name} (${why})`, { hint: 'Use `${{ groups[i].replicas[j].IP_ADDRESS }}` with i and j counted from 0.' });
}
