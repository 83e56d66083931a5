import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenHash } from '../../core/auth/principal.js';
import type { HomeConfig } from '../../core/home/config-file.js';
import { emptyState } from '../../core/state/schema.js';
import { KNOWN_TOKENS, makeDigestAuthenticate } from '../../proxy/http/auth.js';
import { createJsonStateStore } from '../state/json-store.js';
import { acceptedDigests, allAcceptedDigests } from './proxy-tokens.js';

const home = { user: 'admin', token: 'admin-token', default_project: 'main', projects: [{ name: 'main', tokens: ['legacy-main'], backends: [] }] } as unknown as HomeConfig;
let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function setup() {
  dir = await mkdtemp(join(tmpdir(), 'proxy-tokens-'));
  const store = createJsonStateStore(join(dir, 'state.json'), emptyState());
  store.putUser({ name: 'root', globalRole: 'admin', tokenHash: tokenHash('root-token'), createdAt: 1 });
  store.putUser({ name: 'alice', globalRole: 'user', tokenHash: tokenHash('alice-token'), createdAt: 1 });
  store.putUser({ name: 'bob', globalRole: 'user', tokenHash: tokenHash('bob-token'), createdAt: 1 });
  store.putProject({ name: 'main', createdAt: 1, createdBy: 'admin', members: [] });
  store.putProject({ name: 'pa', createdAt: 1, createdBy: 'alice', members: [{ user: 'alice', role: 'user' }] });
  return store;
}

describe('accepted proxy tokens', () => {
  it("accepts a project's members, global admins, config.yml's token and the project's legacy tokens, and no one else", async () => {
    const store = await setup();
    const auth = makeDigestAuthenticate(acceptedDigests(() => home, store));
    expect(['alice-token', 'root-token', 'admin-token'].map((t) => auth('pa', t))).toEqual(['ok', 'ok', 'ok']);
    // Known tokens refused for the project are non-members'; only the others are guesses.
    expect(['bob-token', 'legacy-main', 'nope', undefined].map((t) => auth('pa', t))).toEqual(['not-member', 'not-member', 'unknown', 'unknown']);
    expect(['legacy-main', 'admin-token', 'alice-token'].map((t) => auth('main', t))).toEqual(['ok', 'ok', 'not-member']);
    expect(auth('no-such-project', 'root-token')).toBe('not-member');
    expect(auth('no-such-project', 'nope')).toBe('unknown');
    // The known set is no project: asking for it as one accepts nobody.
    expect(auth(KNOWN_TOKENS, 'root-token')).toBe('not-member');
  });

  it('follows membership and token changes at runtime, and hands workers digests only', async () => {
    const store = await setup();
    const auth = makeDigestAuthenticate(acceptedDigests(() => home, store));
    store.putProject({ name: 'pa', createdAt: 1, createdBy: 'alice', members: [{ user: 'alice', role: 'user' }, { user: 'bob', role: 'user' }] });
    expect(auth('pa', 'bob-token')).toBe('ok');
    store.putUser({ name: 'bob', globalRole: 'user', tokenHash: tokenHash('bob-new'), createdAt: 1 });
    expect([auth('pa', 'bob-token'), auth('pa', 'bob-new')]).toEqual(['unknown', 'ok']);
    store.putUser({ name: 'carol', globalRole: 'user', tokenHash: tokenHash('carol-token'), createdAt: 1 });
    const entries = allAcceptedDigests(() => home, store)();
    const pushed = JSON.stringify(entries);
    for (const plain of ['admin-token', 'legacy-main', 'alice-token', 'bob-new']) expect(pushed).not.toContain(plain);
    expect(pushed).toContain(tokenHash('bob-new'));
    // A worker tells a non-member (carol, in no project) from a guesser with what it is pushed, digests only.
    const digests = new Map(entries);
    const worker = makeDigestAuthenticate((project) => digests.get(project));
    expect(['carol-token', 'legacy-main', 'guess', 'alice-token'].map((t) => worker('main', t))).toEqual(['not-member', 'ok', 'unknown', 'not-member']);
  });
});
