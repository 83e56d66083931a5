// Bench section `offer` (issue 13): `dstack offer --backend aws --json` over the whole aws catalog (no other filter:
// every aws row is matched, sorted and printed) and a filtered query, beside `dstack --version` measured in the same
// run (the CLI's own startup). Goal: the median of `offer --backend aws --json` at most 50 ms above `--version`. A
// query that names only clouds is answered in the CLI from the catalogs, so those rows run first and the bench fails
// if they left a daemon behind. Then, for context, what asks the daemon: `dstack ps --json` (a round trip) and
// `dstack offer --json` (no --backend: the local machine is listed too, so the daemon answers). The home has an aws
// backend with `creds: {type: default}` and no credentials anywhere, and EC2's endpoint is a closed loopback port:
// offers come from the catalog, so nothing may reach out. The daemon the first `ps` starts is warm for the timed
// runs (its warm-up runs include starting it) and is ended afterwards by its pid.
// Needs `npm run build`. Standalone: `node scripts/bench/offer.mjs [--runs N]`.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmt, freeLocalPort, markdownSection, timeCommand } from './lib.mjs';

export const name = 'offer';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GOAL_MS = 50;

async function homeWithAws(dir, port) {
  const home = join(dir, 'dstack');
  await mkdir(home, { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  // Written before the first command, in DSTACK_HOME/config.yml's shape (src/core/home/config-file.ts).
  const yaml = [
    'version: 1', 'default_project: main', 'user: bench', `token: ${token}`, `server: {host: 127.0.0.1, port: ${port}}`,
    'projects:', '  - name: main', '    tokens: []', '    backends:', '      - type: aws', '        creds: {type: default}', '',
  ].join('\n');
  await writeFile(join(home, 'config.yml'), yaml, { mode: 0o600 });
  return home;
}

async function stopDaemon(home) {
  const pids = [];
  for (const file of ['server/daemon.json', 'server/local-agent/agent-process.json']) {
    const pid = await readFile(join(home, file), 'utf8').then((t) => JSON.parse(t).pid, () => undefined);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

export async function run(ctx = {}) {
  const log = ctx.log ?? ((m) => process.stderr.write(`[offer] ${m}\n`));
  const n = ctx.runs ?? (ctx.quick ? 5 : 15);
  const main = join(ctx.root ?? ROOT, 'dist/main.js');
  if (!existsSync(main)) throw new Error('dist/main.js is missing: run npm run build');
  const dir = await mkdtemp(join(tmpdir(), 'dstack-bench-offer-'));
  const home = await homeWithAws(dir, await freeLocalPort());
  const env = {
    ...process.env, HOME: dir, DSTACK_HOME: home, NO_COLOR: '1', AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_PROFILE: '',
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    // Port 1 on loopback refuses: a product bug that called EC2 here fails fast and stays on this machine.
    AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:1',
  };
  delete env.CI;
  const node = process.execPath;
  try {
    const full = spawnSync(node, [main, 'offer', '--backend', 'aws', '--json'], { env, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
    if (full.status !== 0) throw new Error(`bench offer: \`dstack offer --backend aws --json\` failed (exit ${full.status}): ${full.stderr.slice(0, 400)}`);
    const offers = JSON.parse(full.stdout).offers;
    if (offers.length === 0 || offers.some((o) => o.backend !== 'aws')) throw new Error('bench offer: `dstack offer --backend aws --json` did not list aws offers only (is the aws catalog shipped?)');
    const direct = [
      ['dstack --version (reference)', [main, '--version']],
      ['dstack offer --backend aws --json (whole aws catalog, in the CLI)', [main, 'offer', '--backend', 'aws', '--json']],
      ['dstack offer --backend aws --gpu A100 --json (in the CLI)', [main, 'offer', '--backend', 'aws', '--gpu', 'A100', '--json']],
    ];
    const viaDaemon = [
      ['dstack ps --json (a daemon round trip, for context)', [main, 'ps', '--json']],
      ['dstack offer --json (local machine + catalog, via the daemon)', [main, 'offer', '--json']],
    ];
    const results = [];
    const time = ([label, args]) => {
      log(`${label} ×${n}`);
      results.push([label, timeCommand(node, args, n, { env, warmup: 2 })]);
    };
    direct.forEach(time);
    if (existsSync(join(home, 'server', 'daemon.json'))) throw new Error('bench offer: a catalog-only `dstack offer` started a daemon');
    viaDaemon.forEach(time);
    const base = results[0][1].median;
    const rows = results.map(([label, r]) => [label, fmt.ms(r.median), fmt.ms(r.min), fmt.ms(r.p90), label.includes('reference') ? '—' : `+${fmt.ms(r.median - base)}`]);
    const beyond = results[1][1].median - base;
    return {
      title: 'Offers: `dstack offer --backend aws --json` vs CLI startup (median wall time, ms)',
      columns: ['command', 'median', 'min', 'p90', 'beyond --version'],
      rows,
      notes: [
        `Whole aws catalog: ${offers.length} offers printed, from a home with an aws backend and no credentials; EC2's endpoint was a closed loopback port; no daemon was started by the rows marked "in the CLI".`,
        `Goal (issue 13): offer --backend aws --json ≤ ${GOAL_MS} ms beyond --version: ${fmt.ms(beyond)} ms, ${beyond <= GOAL_MS ? 'met' : 'NOT met'}.`,
        `${n} runs after 2 warm-up runs each (the first warm-up of ps starts the daemon); node dist/main.js, wall time of the whole process.`,
      ],
    };
  } finally {
    await stopDaemon(home);
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const runs = process.argv.indexOf('--runs');
  const result = await run({ runs: runs > 0 ? Number(process.argv[runs + 1]) : undefined });
  process.stdout.write(`${markdownSection(result)}\n`);
}
