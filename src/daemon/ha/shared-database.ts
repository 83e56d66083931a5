/**
 * Several servers on one PostgreSQL database (issue 17, HA): each listens on its own address; the one holding the
 * Leadership's lease runs today's daemon there, the others relay every request to it (relay.ts) until its lease
 * ends (killed: at once; hung: after the lease's TTL), then take over on the listener they already have: server
 * files restored into the home, state loaded behind the lease's fence, replicas adopted, routes warmed. A lost
 * lease or a fenced write ends the process, as losing the home lock does.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { DstackError, UserError } from '../../core/errors.js';
import { daemonUrl } from '../../core/home/server-address.js';
import { DSTACK_VERSION } from '../../backends/version.js';
import type { Daemon, LeadOptions, Leading, StartContext } from '../main.js';
import { removeDaemonInfo, writeDaemonInfo } from '../process/daemon-file.js';
import type { LeaderInfo, LeaderLease, Leadership } from '../state/pg/leadership.js';
import { openSwitchListener } from './listener.js';
import { createLeaderRelay } from './relay.js';

type Lead = (c: StartContext, l: LeadOptions) => Promise<Leading>;

/** Where the others reach this server: flag, env, config.yml, else its own address (a wildcard host named). */
export function advertiseUrlOf(c: Pick<StartContext, 'options' | 'env' | 'home' | 'host' | 'exposure'>, port: number): string {
  const given = c.options.advertiseUrl || c.env.DSTACK_SERVER_ADVERTISE_URL || c.home.server.advertise_url;
  if (given) return given.replace(/\/+$/, '');
  const wildcard = c.host === '' || c.host === '0.0.0.0' || c.host === '::';
  return daemonUrl(wildcard ? hostname() : c.host, port, c.exposure.scheme);
}

/** The leader once the lease row names one, or undefined after `ms`. */
function firstLeader(leadership: Leadership, ms: number): Promise<LeaderInfo | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), ms);
    const off = leadership.onLeaderChange((l) => l && done(l));
    const done = (l: LeaderInfo | undefined) => {
      clearTimeout(timer);
      off();
      resolve(l);
    };
  });
}

export async function runOnDatabase(c: StartContext, databaseUrl: string, lead: Lead): Promise<Daemon> {
  const { log, lifetime, paths, host, tls, clock } = c;
  const startedAt = clock();
  const serverId = `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  let leadership: Leadership | undefined;
  let led: Leading | undefined;
  // Set once the data plane takes new connections: requests still on the relay's connections go to this server.
  let serving = false;
  let advertiseUrl = '';
  let ownRelayKey: string | undefined;
  const leaderUrl = (): string | undefined => {
    if (serving) return advertiseUrl;
    const leader = leadership?.leader();
    return leader && leader.serverId !== serverId ? leader.url : undefined;
  };
  const relay = createLeaderRelay({
    leader: leaderUrl,
    relayKey: () => (serving ? ownRelayKey : leadership?.leader()?.relayKey),
    scheme: c.exposure.scheme,
    log,
    ...(tls ? { extraCa: tls.cert } : {}),
    health: () => {
      const leader = leaderUrl();
      return { version: DSTACK_VERSION, pid: process.pid, uptimeSeconds: (clock() - startedAt) / 1000, home: paths.home, role: 'standby', ...(leader ? { leader } : {}) };
    },
  });
  const listener = await openSwitchListener(c.port, host, tls ? { cert: tls.cert, key: tls.key } : undefined, (socket) => relay.accept(socket));
  lifetime.add(() => listener.close());
  lifetime.add(() => relay.close(true));
  advertiseUrl = advertiseUrlOf(c, listener.port);

  const { openLeadership } = await import('../state/pg/leadership.js');
  const { openPgServerFiles } = await import('../state/pg/server-files.js');
  leadership = await openLeadership(databaseUrl, { serverId, advertiseUrl, log, ...c.options.leadership });
  const ours = leadership;
  lifetime.add(() => ours.close());

  let stopping = false;
  const takeOver = async (lease: LeaderLease): Promise<Leading> => {
    // Registered before the state opens, so it is released after the state's last write is flushed.
    lifetime.add(() => lease.release());
    ownRelayKey = lease.relayKey;
    void lease.lost.then((e) => {
      if (!stopping) c.onLockLost(e);
    });
    const files = await openPgServerFiles(databaseUrl, { fence: lease.fence, onFenced: c.onLockLost, log });
    lifetime.add(() => files.close());
    const restored = await files.restore(paths.home);
    if (restored > 0) log(`restored ${restored} server file(s) from the database into ${paths.home}`);
    const leading = await lead(c, {
      fence: lease.fence,
      listener,
      files,
      advertiseUrl,
      relayKey: lease.relayKey,
      onServing: () => {
        serving = true;
      },
    });
    // Connections the relay still has finish their requests (sent to this server now); new ones reach the data plane.
    void relay.close(false);
    led = leading;
    return leading;
  };

  let leading: Promise<void>;
  const first = await leadership.tryAcquire();
  if (first) {
    await takeOver(first);
    leading = Promise.resolve();
  } else {
    const scheme = tls ? { scheme: 'https' as const, tlsCert: tls.certFile } : {};
    await writeDaemonInfo(paths.daemonFile, { pid: process.pid, port: listener.port, host, ...scheme, startedAt, version: DSTACK_VERSION });
    lifetime.add(() => removeDaemonInfo(paths.daemonFile, process.pid));
    // Health and the log name the leader from the start: wait (briefly) for the first poll of the lease row.
    const now = leadership.leader() ?? (await firstLeader(leadership, 2_000));
    log(`dstack server ${DSTACK_VERSION} standby on ${daemonUrl(host, listener.port, c.exposure.scheme)} (home ${paths.home}, advertised as ${advertiseUrl})`);
    log(`standby: following the leader at ${now?.url ?? '(none yet)'}`);
    const off = leadership.onLeaderChange((l) => {
      if (!led && l && l.serverId !== serverId) log(`standby: following the leader at ${l.url}`);
    });
    lifetime.add(off);
    leading = leadership.acquire().then(async (lease) => {
      const began = clock();
      log('standby: the lease is ours; taking over');
      await takeOver(lease);
      log(`took over as leader in ${clock() - began} ms`);
    });
    leading.catch(async (e: unknown) => {
      if (stopping || (e instanceof DstackError && e.code === 'CLOSED')) return;
      // A takeover that failed half-way must not keep the lease: another server may lead instead.
      log(`taking over failed: ${(e as Error).message}; exiting`);
      await lifetime.close();
      if (c.options.exitOnCompromise !== false) process.exit(1);
    });
  }

  const standby = (): never => {
    throw new UserError('STANDBY', `this server stands by for the leader at ${leaderUrl() ?? '(none)'}`, { status: 503 });
  };
  return {
    host,
    get port() {
      return led?.port ?? listener.port;
    },
    get url() {
      return led?.url ?? daemonUrl(host, listener.port, c.exposure.scheme);
    },
    get control() {
      return led ? led.control : standby();
    },
    get stats() {
      return led ? led.stats : standby();
    },
    get proxyWorkers() {
      return led?.workers;
    },
    role: () => (led ? 'leader' : 'standby'),
    leading,
    close: () => {
      if (!stopping) log(led ? 'dstack server stopping (replicas keep running; the lease is released)' : 'dstack server (standby) stopping');
      stopping = true;
      return lifetime.close();
    },
  };
}
