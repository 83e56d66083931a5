// What scripts/test-hosts.sh started, read from the machine-readable /run/dstack-test/hosts.json.
// Tests that need these components FAIL (never skip) with the command that provides them (DESIGN.md §6).
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';

export const TEST_HOSTS_FILE = '/run/dstack-test/hosts.json';
const HOW = 'run `sudo scripts/test-hosts.sh up 3` (as root) first, or `scripts/test-all.sh` for the whole suite';

/** The local test images `test-hosts.sh up` builds with `docker import`; tests never pull. */
export const TEST_IMAGES = {
  /** busybox-static: /bin/sh, httpd, nc, wget, sleep…; users root, nobody, app (uid 1000). */
  busybox: 'dstack-test/busybox:latest',
  /** node 20 + /srv/http-echo.mjs (default CMD, port 8080), /srv/openai-server.mjs, /srv/tgi-server.mjs. */
  node: 'dstack-test/node:latest',
  /** python3.11 stdlib; default CMD `python3 -m http.server 8000`. */
  python: 'dstack-test/python:latest',
} as const;

export interface TestHost {
  /** Network namespace name, also the host's name: dstack-h1, dstack-h2, … */
  name: string;
  /** 10.77.0.(10+i), reachable from the root namespace. */
  ip: string;
  sshPort: number;
  user: string;
  identityFile: string;
  /** That host's own engine; sshd sets DOCKER_HOST to it for every session. */
  dockerHost: string;
  netns: string;
  /** Root-namespace end of the host's link: `ip link set <veth> down` takes the host off the network. */
  veth: string;
  /** "ssh-ed25519 AAAA…", the key sshd presents; also in knownHostsFile. */
  hostKey: string;
}

export interface TestHosts {
  /** The root test engine, unix:///run/dstack-test/docker.sock. */
  dockerHost: string;
  identityFile: string;
  knownHostsFile: string;
  hosts: TestHost[];
}

/** Reads hosts.json; throws, naming the command to run, when it is absent or has fewer than `minHosts` hosts. */
export function loadTestHosts(minHosts = 0): TestHosts {
  if (!existsSync(TEST_HOSTS_FILE)) {
    throw new Error(`Test hosts are not running (${TEST_HOSTS_FILE} is missing): ${HOW}.`);
  }
  const parsed = JSON.parse(readFileSync(TEST_HOSTS_FILE, 'utf8')) as TestHosts;
  if (parsed.hosts.length < minHosts) {
    throw new Error(`This test needs ${minHosts} test hosts, ${parsed.hosts.length} are up: ${HOW}.`);
  }
  return parsed;
}

/** The host named `name` (dstack-h1) or at `index` (0-based). */
export function testHost(which: string | number, hosts: TestHosts = loadTestHosts()): TestHost {
  const host = typeof which === 'number' ? hosts.hosts[which] : hosts.hosts.find((h) => h.name === which);
  if (!host) throw new Error(`Test host ${String(which)} is not up: ${HOW}.`);
  return host;
}

/** DOCKER_HOST of the root test engine: DSTACK_TEST_DOCKER_HOST if set, else the one hosts.json names. */
export function testDockerHost(): string {
  const fromEnv = process.env.DSTACK_TEST_DOCKER_HOST;
  const url = fromEnv && fromEnv.length > 0 ? fromEnv : loadTestHosts().dockerHost;
  const socket = url.replace(/^unix:\/\//, '');
  if (url.startsWith('unix://') && !existsSync(socket)) {
    throw new Error(`The test Docker engine is not running (${socket} is missing): ${HOW}.`);
  }
  return url;
}

/** dockerode options for a DOCKER_HOST url (unix:// only, which is all the test engines use). */
export function dockerOptions(dockerHost: string): { socketPath: string } {
  if (!dockerHost.startsWith('unix://')) throw new Error(`Expected a unix:// DOCKER_HOST, got ${dockerHost}`);
  return { socketPath: dockerHost.slice('unix://'.length) };
}

const HOSTS_LOCK = '/run/dstack-test/hosts.lock';

/**
 * Exclusive use of the SSH test hosts for one test file: an agent is installed per host (port 10998, ~/.dstack),
 * so two files provisioning the same hosts at once would replace each other's agents. Call in beforeAll (with a
 * long hook timeout: it waits for the file holding the lock) and release in afterAll. A lock left by a dead
 * process is taken over.
 */
export async function lockTestHosts(timeoutMs = 15 * 60_000): Promise<() => void> {
  const { mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(HOSTS_LOCK);
      writeFileSync(`${HOSTS_LOCK}/pid`, String(process.pid));
      return () => rmSync(HOSTS_LOCK, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(`${HOSTS_LOCK}/pid`, 'utf8'));
    } catch {
      // Created but not yet written by its holder: wait.
    }
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) rmSync(HOSTS_LOCK, { recursive: true, force: true });
    if (Date.now() > deadline) throw new Error(`the SSH test hosts stayed locked by pid ${holder} for ${timeoutMs / 1000} s (${HOSTS_LOCK})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Holds the SSH test hosts for the whole file (see lockTestHosts); call at the top level before other hooks. */
export function holdTestHosts(): void {
  let release: (() => void) | undefined;
  beforeAll(async () => {
    release = await lockTestHosts();
  }, 16 * 60_000);
  afterAll(() => release?.());
}
