/**
 * Which tokens the data plane accepts for a project's services and models (issue 17): its members' and the global
 * admins' stored token hashes, config.yml's token (the server admin's) and the project's legacy config.yml `tokens`,
 * all as sha256 digests, so neither the proxy nor its workers hold a plain token. Read from state per request for
 * the one project asked (users and members change at runtime; there are few of them).
 */
import type { HomeConfig } from '../../core/home/config-file.js';
import type { StateView } from '../../core/state/store.js';
import { KNOWN_TOKENS, tokenDigest, type DigestsOf } from '../../proxy/http/auth.js';
import { deletedConfigProjects } from '../accounts/deleted-projects.js';

export function acceptedDigests(home: () => HomeConfig, store: Pick<StateView, 'users' | 'user' | 'project' | 'projects'>): DigestsOf {
  // config.yml's digests, made once per loaded home config (the hot path asks on every proxied request).
  let config: { home: HomeConfig; admin: string; legacy: Map<string, string[]> } | undefined;
  const configured = (): NonNullable<typeof config> => {
    const h = home();
    if (config?.home !== h) config = { home: h, admin: tokenDigest(h.token), legacy: new Map(h.projects.map((p) => [p.name, p.tokens.map(tokenDigest)])) };
    return config;
  };
  return (project) => {
    const c = configured();
    if (project === KNOWN_TOKENS) return [c.admin, ...store.users().map((u) => u.tokenHash), ...[...c.legacy.values()].flat()];
    const record = store.project(project);
    const legacy = c.legacy.get(project);
    if (!record && !legacy && project !== c.home.default_project) return undefined;
    // A config.yml project deleted through the API accepts no one, its legacy tokens included.
    if (!record && project !== c.home.default_project && deletedConfigProjects(store).has(project)) return undefined;
    const admins = store.users().flatMap((u) => (u.globalRole === 'admin' ? [u.tokenHash] : []));
    const members = record?.members.flatMap((m) => store.user(m.user)?.tokenHash ?? []) ?? [];
    return [c.admin, ...admins, ...members, ...(legacy ?? [])];
  };
}

/** Every project's accepted digests and, under `KNOWN_TOKENS`, all known ones, as proxy workers get them (pushed on change). */
export function allAcceptedDigests(home: () => HomeConfig, store: Pick<StateView, 'users' | 'user' | 'project' | 'projects'>): () => [string, string[]][] {
  const of = acceptedDigests(home, store);
  return () => {
    const h = home();
    const names = new Set([h.default_project, ...h.projects.map((p) => p.name), ...store.projects().map((p) => p.name)]);
    return [...names, KNOWN_TOKENS].map((p) => [p, [...new Set(of(p) ?? [])]]);
  };
}

/** Whether a token is any user's, admin's or config.yml's (control API: such a token refused is no failed login). */
export function knownTokenOf(digestsOf: DigestsOf): (token: string) => boolean {
  return (token) => (digestsOf(KNOWN_TOKENS) ?? []).includes(tokenDigest(token));
}
