import { readFile } from 'node:fs/promises';
import { AgentError } from '../errors.js';

export interface UserIds {
  uid: number;
  gid: number;
}

const unknownUser = (user: string) => new AgentError('UNKNOWN_USER', `unable to find user ${user}: no matching entries in passwd file`, 400);

async function readTable(path: string): Promise<string[][]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
}

/** Resolves `user`, `uid`, `user:group` or `uid:gid` as Docker's `--user` does, against the host's passwd/group files. */
export async function resolveUser(user: string, etc = '/etc'): Promise<UserIds> {
  const [name = '', group] = user.split(':');
  const passwd = await readTable(`${etc}/passwd`);
  const entry = /^\d+$/.test(name) ? passwd.find((r) => r[2] === name) : passwd.find((r) => r[0] === name);
  if (!entry && !/^\d+$/.test(name)) throw unknownUser(user);
  const uid = Number(entry?.[2] ?? name);
  let gid = Number(entry?.[3] ?? uid);
  if (group !== undefined) {
    if (/^\d+$/.test(group)) gid = Number(group);
    else {
      const g = (await readTable(`${etc}/group`)).find((r) => r[0] === group);
      if (!g) throw new AgentError('UNKNOWN_USER', `unable to find group ${group}: no matching entries in group file`, 400);
      gid = Number(g[2]);
    }
  }
  return { uid, gid };
}
