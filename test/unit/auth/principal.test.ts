import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { allows, canDeleteProject, projectRole, resolvePrincipal, tokenHash, type ProjectAction } from '../../../src/core/auth/principal.js';
import { ACCOUNT_NAME, checkAccountName } from '../../../src/core/auth/names.js';
import type { ProjectRecord, ProjectRole, UserRecord } from '../../../src/core/state/schema.js';

const user = (name: string, token: string, globalRole: 'admin' | 'user' = 'user'): UserRecord => ({ name, globalRole, tokenHash: tokenHash(token), createdAt: 1 });
const project: ProjectRecord = {
  name: 'team', createdAt: 1, createdBy: 'ann',
  members: [{ user: 'ann', role: 'admin' }, { user: 'bob', role: 'manager' }, { user: 'cat', role: 'user' }],
};

describe('tokenHash', () => {
  it('is the sha256 hex of the token', () => {
    expect(tokenHash('secret-token')).toBe(createHash('sha256').update('secret-token').digest('hex'));
    expect(tokenHash('secret-token')).not.toContain('secret');
  });
});

describe('resolvePrincipal', () => {
  const users = [user('ann', 'token-ann-0123456789', 'admin'), user('bob', 'token-bob-0123456789'), { ...user('bad', 'x'), tokenHash: 'not-hex' }];

  it('finds the user whose token hash matches, with its global role', () => {
    expect(resolvePrincipal('token-ann-0123456789', users)).toEqual({ user: 'ann', globalRole: 'admin' });
    expect(resolvePrincipal('token-bob-0123456789', users)).toEqual({ user: 'bob', globalRole: 'user' });
  });

  it('knows no missing, empty or unknown token, and no token that equals a stored hash', () => {
    expect(resolvePrincipal(undefined, users)).toBeUndefined();
    expect(resolvePrincipal('', users)).toBeUndefined();
    expect(resolvePrincipal('token-ann-012345678', users)).toBeUndefined();
    expect(resolvePrincipal(users[0]!.tokenHash, users)).toBeUndefined();
    expect(resolvePrincipal('token-ann-0123456789', [])).toBeUndefined();
  });

  it('a malformed stored hash matches nothing', () => {
    expect(resolvePrincipal('not-hex', users)).toBeUndefined();
    expect(resolvePrincipal('x', users)).toBeUndefined();
  });
});

describe('projectRole and allows', () => {
  it('a member has its role, a stranger none, a global admin is admin of every existing project', () => {
    expect(projectRole({ user: 'bob', globalRole: 'user' }, project)).toBe('manager');
    expect(projectRole({ user: 'cat', globalRole: 'user' }, project)).toBe('user');
    expect(projectRole({ user: 'dan', globalRole: 'user' }, project)).toBeUndefined();
    expect(projectRole({ user: 'dan', globalRole: 'admin' }, project)).toBe('admin');
    expect(projectRole({ user: 'dan', globalRole: 'admin' }, undefined)).toBeUndefined();
  });

  it('user: read and write; manager and admin: everything; only an admin deletes the project', () => {
    const actions: ProjectAction[] = ['read', 'write', 'manage'];
    const table = (role: ProjectRole | undefined) => actions.map((a) => allows(role, a));
    expect(table('user')).toEqual([true, true, false]);
    expect(table('manager')).toEqual([true, true, true]);
    expect(table('admin')).toEqual([true, true, true]);
    expect(table(undefined)).toEqual([false, false, false]);
    expect([canDeleteProject('admin'), canDeleteProject('manager'), canDeleteProject('user'), canDeleteProject(undefined)]).toEqual([true, false, false, false]);
  });
});

describe('account names', () => {
  it('accepts config.yml project names and rejects others, naming the kind', () => {
    expect(checkAccountName('user', 'alice-2_x')).toBe('alice-2_x');
    expect(ACCOUNT_NAME.test('a'.repeat(50))).toBe(true);
    for (const bad of ['', 'Alice', '-a', 'a/b', 'a b', 'a'.repeat(51)]) {
      expect(() => checkAccountName('project', bad)).toThrow(expect.objectContaining({ code: 'INVALID_PROJECT_NAME', status: 400 }));
    }
    expect(() => checkAccountName('user', undefined)).toThrow(expect.objectContaining({ code: 'INVALID_USER_NAME', message: expect.stringContaining('missing') }));
  });
});
