// Bench section `ssh`: proxy-like HTTP requests to a replica on an SSH fleet host (dstack-test/node http-echo on
// dstack-h1, published on the host's 127.0.0.1), over the product's transport — an undici Agent whose sockets are
// ssh2 forwardOut channels (src/backends/ssh/tunnel.ts) — against the alternatives on the same connection and host:
// a local net.Server forwarder piping into forwardOut channels with a plain undici Pool, OpenSSH's own `ssh -L`
// forward, and (no SSH at all) the same http-echo run on this machine's loopback. One in-process undici load
// generator drives all four, so the differences are the transports. Needs root and `scripts/test-hosts.sh up 1`.
// Standalone: `node scripts/bench/ssh.mjs [--seconds N] [--runs N]`.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { bundleModules, fmt, freeLocalPort, markdownSection, percentile } from './lib.mjs';

export const name = 'ssh';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONCURRENCY = [1, 32];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The backend's tunnel and connect modules, bundled from TypeScript the way the product bundle is built. */
async function loadBackend() {
  return bundleModules('ssh', [
    "export { tunnelDispatcher, openChannel } from './src/backends/ssh/tunnel.ts';",
    "export { openSsh } from './src/backends/ssh/connect.ts';",
    "export { KnownHosts } from './src/backends/ssh/known-hosts.ts';",
    "export { exec } from './src/backends/ssh/remote.ts';",
  ]);
}

/** `concurrency` workers sending GET / back to back for `seconds`; latency of every request in ms. */
async function load(dispatcher, origin, concurrency, seconds) {
  const latencies = [];
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        const res = await dispatcher.request({ origin, path: '/bench', method: 'GET' });
        await res.body.dump();
        if (res.statusCode !== 200) errors++;
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  return { rps: latencies.length / elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), errors };
}

function localForwarder(client, remotePort) {
  const server = createServer((socket) => {
    client.forwardOut('127.0.0.1', 0, '127.0.0.1', remotePort, (err, channel) => {
      if (err) return void socket.destroy(err);
      socket.setNoDelay(true);
      socket.pipe(channel).pipe(socket);
      socket.on('error', () => channel.close());
      channel.on('error', () => socket.destroy());
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, close: () => server.close() })));
}


async function waitAnswer(pool, origin) {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await pool.request({ origin, path: '/health', method: 'GET' });
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error(`bench ssh: nothing answers at ${origin}`);
}

export async function run(ctx = {}) {
  const log = ctx.log ?? ((m) => process.stderr.write(`[ssh] ${m}\n`));
  const seconds = ctx.seconds ?? (ctx.quick ? 2 : 5);
  const hosts = JSON.parse(await readFile('/run/dstack-test/hosts.json', 'utf8').catch(() => {
    throw new Error('bench ssh: test hosts are not running: run `sudo scripts/test-hosts.sh up 1` first');
  }));
  const host = hosts.hosts[0];
  const dir = await mkdtemp(join(tmpdir(), 'bench-ssh-'));
  const cleanups = [];
  try {
    const ssh = await loadBackend();
    const conn = await ssh.openSsh(
      { hostname: host.ip, port: host.sshPort, user: host.user, identityFile: host.identityFile },
      { knownHosts: new ssh.KnownHosts(join(dir, 'known_hosts')) },
    );
    cleanups.push(() => conn.end());
    const started = await ssh.exec(conn.client, 'docker run -d --label dstack-test.helper=true -p 127.0.0.1::8080 dstack-test/node:latest');
    const id = started.stdout.trim();
    if (started.code !== 0) throw new Error(`bench ssh: docker run on ${host.name} failed: ${started.stderr}`);
    cleanups.push(() => ssh.exec(conn.client, `docker rm -f ${id}`));
    const remotePort = Number((await ssh.exec(conn.client, `docker port ${id} 8080/tcp`)).stdout.trim().split(':').pop());
    log(`http-echo on ${host.name} 127.0.0.1:${remotePort}`);

    const tunnel = ssh.tunnelDispatcher(host.name, () => conn.client);
    cleanups.push(() => tunnel.close());
    const fwd = await localForwarder(conn.client, remotePort);
    cleanups.push(() => fwd.close());
    const sshPort = await freeLocalPort();
    const openssh = spawn('ssh', ['-N', '-L', `127.0.0.1:${sshPort}:127.0.0.1:${remotePort}`, '-i', host.identityFile,
      '-o', `UserKnownHostsFile=${hosts.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
      '-p', String(host.sshPort), `${host.user}@${host.ip}`], { stdio: 'ignore' });
    cleanups.push(() => openssh.kill());
    const echoPort = await freeLocalPort();
    const echo = spawn(process.execPath, [join(ROOT, 'test/fixtures/servers/http-echo.mjs'), String(echoPort)], { stdio: 'ignore' });
    cleanups.push(() => echo.kill());

    const pool = (port) => new Pool(`http://127.0.0.1:${port}`, { connections: 64, pipelining: 1 });
    const targets = [
      { name: 'ssh2 channel as undici socket (product)', dispatcher: tunnel, origin: `http://127.0.0.1:${remotePort}` },
      { name: 'local net.Server → forwardOut, undici Pool', dispatcher: pool(fwd.port), origin: `http://127.0.0.1:${fwd.port}` },
      { name: 'OpenSSH `ssh -L` forward, undici Pool', dispatcher: pool(sshPort), origin: `http://127.0.0.1:${sshPort}` },
      { name: 'http-echo on local loopback (no SSH)', dispatcher: pool(echoPort), origin: `http://127.0.0.1:${echoPort}` },
    ];
    for (const t of targets) {
      if (t.dispatcher !== tunnel) cleanups.push(() => t.dispatcher.close());
      await waitAnswer(t.dispatcher, t.origin);
      await load(t.dispatcher, t.origin, 8, 0.5); // warm-up: connections open, JIT
    }
    // Rounds interleave the transports so a burst of load from elsewhere on this shared machine hits all of them.
    const rounds = ctx.runs ?? (ctx.quick ? 1 : 2);
    const best = new Map();
    for (let round = 0; round < rounds; round++) {
      for (const c of CONCURRENCY) {
        for (const t of targets) {
          log(`${t.name}: c${c} ${seconds}s (round ${round + 1}/${rounds})`);
          const r = await load(t.dispatcher, t.origin, c, seconds);
          const key = `${c}|${t.name}`;
          if (!(best.get(key)?.r.rps >= r.rps)) best.set(key, { c, t, r });
        }
      }
    }
    const rows = [...best.values()];
    const reference = (c) => rows.find((x) => x.c === c && x.t.name.startsWith('OpenSSH')).r.rps;
    return {
      title: `SSH tunnel transports to a replica on ${host.name} (GET /bench on http-echo, ${seconds}s runs, best of ${rounds} interleaved, in-process undici load)`,
      columns: ['transport', 'concurrency', 'req/s', 'p50 ms', 'p99 ms', 'req/s vs ssh -L', 'errors'],
      rows: rows.map(({ c, t, r }) => [t.name, c, Math.round(r.rps), fmt.ms(r.p50), fmt.ms(r.p99), fmt.ratio(r.rps / reference(c)), r.errors]),
      notes: [
        'The product uses the first row: one ssh2 connection per host; undici gets each forwardOut channel, wrapped in ChannelSocket, as its socket.',
        'All SSH rows share the same host, container and sshd; the loopback row is the ceiling without any tunnel.',
        'The load generator runs in the same process as the ssh2 client, as the daemon does with its proxy.',
      ],
    };
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (flag) => (process.argv.includes(flag) ? Number(process.argv[process.argv.indexOf(flag) + 1]) : undefined);
  run({ seconds: arg('--seconds'), runs: arg('--runs') }).then(
    (r) => process.stdout.write(markdownSection(r)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
