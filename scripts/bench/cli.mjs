// Startup of the CLI: `dstack --version`, `--help`, `validate --json` and `ps` (JSON and table, against a running
// daemon) from the bundle and the single binary, beside `node -e 0` measured in the same run (the floor any Node
// CLI pays). Issue 15's goals: --version ≤ 1.3x, validate --json and ps --json ≤ 2x, ps (table) ≤ 2.5x.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, median, timeCommand } from './lib.mjs';

export const name = 'cli';

// The first example of the `service` reference (seeds/000): what a new user validates first.
const SEED_SERVICE = `type: service
name: http-server-service
python: "3.10"
commands:
  - python3 -m http.server
port: 8000
`;

/**
 * Issue 15's startup goals, as multiples of `node -e 0` (first run of the binary excluded: it extracts). The
 * --version goal is the dstack CLI's; the agent's rows have their own section's goals.
 */
const GOALS = [
  [/^(node dist\/main\.js|dist\/bin\/dstack) --version$/, 1.3],
  [/validate --json/, 2],
  [/ps --json/, 2],
  [/ps \(table/, 2.5],
];

const works = (cmd, args, env) => spawnSync(cmd, args, { env, stdio: 'ignore' }).status === 0;

/** First run of the binary: a fresh cache dir each time, so it includes extracting the bundle. */
function firstRuns(bin, n, env, dir) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const cache = join(dir, `first-${i}`);
    samples.push(timeCommand(bin, ['--version'], 1, { warmup: 0, env: { ...env, XDG_CACHE_HOME: cache } }).median);
  }
  return { median: median(samples), min: Math.min(...samples), p90: Math.max(...samples) };
}

/** The daemon the first `ps` started (DSTACK_HOME/server/daemon.json), stopped so the bench leaves nothing running. */
function stopDaemon(home) {
  try {
    const { pid } = JSON.parse(readFileSync(join(home, 'server/daemon.json'), 'utf8'));
    process.kill(pid, 'SIGTERM');
  } catch {
    // No daemon was started (ps did not run), or it is gone already.
  }
}

export async function run(ctx = {}) {
  const root = ctx.root ?? process.cwd();
  const n = ctx.runs ?? (ctx.quick ? 5 : 15);
  const log = ctx.log ?? ((m) => process.stderr.write(`[cli] ${m}\n`));
  const main = join(root, 'dist/main.js');
  const bin = join(root, 'dist/bin/dstack');
  const agentJs = join(root, 'dist/agent.js');
  const agentBin = join(root, 'dist/bin/dstack-agent');
  if (!existsSync(main)) throw new Error('dist/main.js is missing: run npm run build (and npm run build:binary for the binaries)');
  const dir = mkdtempSync(join(tmpdir(), 'dstack-bench-cli-'));
  const env = { ...process.env, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache'), DSTACK_HOME: join(dir, 'dstack'), NO_COLOR: '1' };
  delete env.CI;
  const seed = join(dir, 'service.dstack.yml');
  writeFileSync(seed, SEED_SERVICE);
  const node = process.execPath;
  const cases = [
    ['node -e 0 (reference)', node, ['-e', '0']],
    ['node dist/main.js --version', node, [main, '--version']],
    ['node dist/main.js --help', node, [main, '--help']],
    ['node dist/main.js validate --json -f <seed>', node, [main, 'validate', '--json', '-f', seed]],
    // The first `ps` starts the daemon (the `works` check below); the timed runs find it listening.
    ['node dist/main.js ps --json (daemon running)', node, [main, 'ps', '--json']],
    ['node dist/main.js ps (table, daemon running)', node, [main, 'ps']],
  ];
  if (existsSync(bin)) {
    cases.push(['dist/bin/dstack --version', bin, ['--version']], ['dist/bin/dstack validate --json -f <seed>', bin, ['validate', '--json', '-f', seed]]);
  }
  if (existsSync(agentJs)) cases.push(['node dist/agent.js --version', node, [agentJs, '--version']]);
  if (existsSync(agentBin)) cases.push(['dist/bin/dstack-agent --version', agentBin, ['--version']]);
  const notes = [];
  try {
    const results = [];
    for (const [label, cmd, args] of cases) {
      if (!works(cmd, args, env)) {
        notes.push(`\`${label}\` did not run (exit ≠ 0), not measured.`);
        continue;
      }
      log(`${label} ×${n}`);
      results.push([label, timeCommand(cmd, args, n, { env })]);
    }
    if (existsSync(bin)) {
      log('dist/bin/dstack --version, first run (extracts the bundle) ×3');
      results.push(['dist/bin/dstack --version, first run', firstRuns(bin, 3, env, dir)]);
    }
    const base = results[0][1].median;
    const goal = (label) => GOALS.find(([re]) => re.test(label))?.[1];
    const rows = results.map(([label, r]) => {
      const g = goal(label);
      return [label, fmt.ms(r.median), fmt.ms(r.min), fmt.ms(r.p90), fmt.ratio(r.median / base), g === undefined ? '' : `≤ ${g}× ${r.median / base <= g ? 'met' : 'MISSED'}`];
    });
    const size = (p) => (existsSync(p) ? `${(statSync(p).size / 2 ** 10).toFixed(0)} KiB` : 'not built');
    notes.push(`Sizes: dist/main.js ${size(main)}, dist/commands.js ${size(join(root, 'dist/commands.js'))}, dist/agent.js ${size(agentJs)}, dist/bin/dstack ${size(bin)}, dist/bin/dstack-agent ${size(agentBin)}.`);
    notes.push(`${n} runs after 2 warm-up runs each; wall time of the whole process, spawned from Node. Compare the × column, not absolute ms.`);
    notes.push('validate and ps run from dist/hot with V8 code cache (src/code-cache.ts), which the warm-up runs write; a first run compiles and writes it.');
    return { title: 'CLI startup (median wall time, ms)', columns: ['command', 'median', 'min', 'p90', '× node -e 0', 'goal (issue 15)'], rows, notes };
  } finally {
    stopDaemon(env.DSTACK_HOME);
    rmSync(dir, { recursive: true, force: true });
  }
}
