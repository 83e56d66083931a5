// Issue 15, "CLI startup": which wins for `dstack validate --json`, a V8 startup snapshot or a precompiled validator?
// Rows, all against `node -e 0` in the same run, samples interleaved round by round (a busy machine slows every
// row alike): (a) today's bundle; (b) the snapshot prototype (scripts/snapshot/: zod, yaml and the built schemas
// in the heap) run with `node --snapshot-blob`, and as a Node 20 SEA with `useSnapshot`; the floor any custom
// snapshot pays; (c) where (a)'s time goes, stage by stage in one process, and what a validator without zod at
// run time would leave (projected from those stages). Builds into out/snapshot/; dist/ must be built.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, median, percentile } from './lib.mjs';

export const name = 'cli-snapshot';

// The seed `cli` validates (seeds/000), so the two sections' `validate --json` rows measure the same work.
const SEED_SERVICE = `type: service
name: http-server-service
python: "3.10"
commands:
  - python3 -m http.server
port: 8000
`;

/** In-process stages of scripts/snapshot/breakdown-entry.ts that a validator without zod would not run. */
const ZOD_STAGES = ['import zod (compile + evaluate)', 'build the schemas (evaluate src/core/model)', 'zod parse, first time'];

const stdoutOf = (cmd, args, env) => {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
};

/** CPU time (user + system, ms) of this process's waited-for children so far: /proc/self/stat cutime + cstime. */
function childCpuMs() {
  const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
  // After the command name: state is field 3, so cutime (16) and cstime (17) sit at indexes 13 and 14; ticks of 10 ms.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** One run: wall ms, CPU ms (10 ms ticks: meaningful as a mean over rounds) and stdout; a failure throws. */
function once(cmd, args, env) {
  const cpu0 = childCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error || r.status !== 0) throw new Error(`bench cli-snapshot: \`${[cmd, ...args].join(' ')}\` failed: ${String(r.stderr).slice(0, 400)}`);
  return { ms, cpu: childCpuMs() - cpu0, stdout: r.stdout };
}

/** n rounds, each running every case once in turn (after 2 warm-up runs each), so load bursts hit all rows alike. */
function interleaved(cases, n, env) {
  for (const [, cmd, args] of cases) for (let i = 0; i < 2; i++) once(cmd, args, env);
  const runs = cases.map(() => []);
  for (let round = 0; round < n; round++) cases.forEach(([, cmd, args], i) => runs[i].push(once(cmd, args, env)));
  return runs;
}

const stats = (runs) => {
  const ms = runs.map((r) => r.ms);
  return { median: median(ms), min: Math.min(...ms), p90: percentile(ms, 0.9), cpu: runs.reduce((sum, r) => sum + r.cpu, 0) / runs.length };
};

export async function run(ctx = {}) {
  const root = ctx.root ?? process.cwd();
  const n = ctx.runs ?? (ctx.quick ? 7 : 21);
  const log = ctx.log ?? ((m) => process.stderr.write(`[cli-snapshot] ${m}\n`));
  const bin = join(root, 'dist/bin/dstack');
  if (!existsSync(join(root, 'dist/main.js'))) throw new Error('dist/main.js is missing: run npm run build');
  // A copy of the bundle (not the binaries), so a rebuild of dist/ during the minutes this takes cannot fail a run.
  const dist = join(root, 'out/bench-cli-snapshot/dist');
  rmSync(dist, { recursive: true, force: true });
  cpSync(join(root, 'dist'), dist, { recursive: true, filter: (src) => src !== join(root, 'dist/bin') });
  const main = join(dist, 'main.js');
  const { buildBreakdown, buildFloor, buildSnapshot } = await import('../snapshot/build.mjs');
  log('building the snapshots (cold, warm + SEA), the floor and the breakdown bundle');
  const cold = await buildSnapshot('cold', { fallbackMain: main });
  const warm = await buildSnapshot('warm', { withSea: !ctx.quick, fallbackMain: main });
  const floor = buildFloor();
  const breakdownEntry = await buildBreakdown();

  const dir = mkdtempSync(join(tmpdir(), 'dstack-bench-cli-snapshot-'));
  const env = { ...process.env, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache'), DSTACK_HOME: join(dir, 'dstack'), NO_COLOR: '1' };
  delete env.CI;
  const seed = join(dir, 'service.dstack.yml');
  writeFileSync(seed, SEED_SERVICE);
  const node = process.execPath;
  const validate = ['validate', '--json', '-f', seed];
  const cases = [
    ['node -e 0 (reference)', node, ['-e', '0']],
    ['(a) node dist/main.js validate --json', node, [main, ...validate]],
    ['(b) node --snapshot-blob cold.blob validate --json (schemas built)', node, ['--snapshot-blob', cold.blob, ...validate]],
    ['(b) node --snapshot-blob warm.blob validate --json (+ one parse at build)', node, ['--snapshot-blob', warm.blob, ...validate]],
  ];
  if (warm.binary) cases.push(['(b) SEA useSnapshot (warm) validate --json', warm.binary, validate]);
  if (existsSync(bin)) cases.push(['dist/bin/dstack validate --json (SEA today, extracted)', bin, validate]);
  // What every other command would pay: one SEA has one snapshot, deserialized before any command runs.
  cases.push(['snapshot floor: node --snapshot-blob floor.blob (empty main)', node, ['--snapshot-blob', floor]]);
  cases.push(['node dist/main.js --version', node, [main, '--version']]);
  if (warm.binary) cases.push(['(b) SEA useSnapshot (warm) --version (answered in the snapshot main)', warm.binary, ['--version']]);
  if (existsSync(bin)) cases.push(['dist/bin/dstack --version (SEA today, extracted)', bin, ['--version']]);

  const notes = [];
  try {
    // A faster wrong answer is no result: every validate row must print what (a) prints.
    const expected = stdoutOf(node, [main, ...validate], env);
    if (expected === undefined) throw new Error('bench cli-snapshot: `node dist/main.js validate --json` failed');
    const measured = cases.filter(([label, cmd, args]) => {
      if (!label.includes('validate')) return stdoutOf(cmd, args, env) !== undefined;
      const same = stdoutOf(cmd, args, env) === expected;
      if (!same) notes.push(`\`${label}\` did not print what (a) prints; not measured.`);
      return same;
    });
    // The breakdown runs in the same rounds, so the projection subtracts stages measured under the same load as (a).
    const all = [...measured, ['(c) breakdown', node, [breakdownEntry, seed]]];
    log(`${all.length} commands × ${n} interleaved rounds`);
    const runs = interleaved(all, n, env);
    const stages = runs.pop().map((r) => JSON.parse(r.stdout));
    const results = runs.map(stats);
    const base = results[0].median;
    const baseCpu = results[0].cpu;
    const rows = measured.map(([label], i) => {
      const r = results[i];
      return [label, fmt.ms(r.median), fmt.ms(r.min), fmt.ms(r.p90), fmt.ratio(r.median / base), fmt.ms(r.cpu), fmt.ratio(r.cpu / baseCpu)];
    });
    for (const stage of Object.keys(stages[0].wall)) {
      const at = (kind) => median(stages.map((s) => s[kind][stage]));
      rows.push([`(c) in process: ${stage}`, fmt.ms(at('wall')), '', '', '', fmt.ms(at('cpu')), '']);
    }
    const zodOf = (kind) => stages.map((s) => ZOD_STAGES.reduce((sum, k) => sum + s[kind][k], 0));
    const zodMs = zodOf('wall');
    const projected = median(runs[1].map((r, i) => r.ms - zodMs[i]));
    const projectedCpu = results[1].cpu - zodOf('cpu').reduce((sum, ms) => sum + ms, 0) / n;
    rows.push(['(c) precompiled validator, projected: (a) − zod stages', fmt.ms(projected), '', '', fmt.ratio(projected / base), fmt.ms(projectedCpu), fmt.ratio(projectedCpu / baseCpu)]);

    const kib = (b) => `${(b / 2 ** 10).toFixed(0)} KiB`;
    notes.push(
      `Sizes: snapshot entry ${kib(warm.sizes.entry)}, floor blob ${kib(statSync(floor).size)}, cold blob ${kib(cold.sizes.blob)}, warm blob ${kib(warm.sizes.blob)}${warm.binary ? `, SEA with snapshot ${kib(warm.sizes.binary)}` : ''}.`,
      `Build time: esbuild ${fmt.ms(warm.ms.bundle)} ms, --build-snapshot ${fmt.ms(warm.ms.snapshot)} ms${warm.binary ? `, SEA ${fmt.ms(warm.ms.sea)} ms` : ''}.`,
      `(c) stages are medians of scripts/snapshot/breakdown-entry.ts run once per round, timed inside the process; the first line is Node's own start. The projection removes ${ZOD_STAGES.join(', ')} (median ${fmt.ms(median(zodMs))} ms wall, per round; mean ${fmt.ms(zodOf('cpu').reduce((sum, ms) => sum + ms, 0) / n)} ms CPU) from (a) and adds nothing for loading the generated validator: a lower bound on its time.`,
      '`node dist/main.js` rows run a copy of dist/ (out/bench-cli-snapshot/dist), which is also where the snapshots send every command line but `validate` and `--version`.',
      `${n} interleaved rounds after 2 warm-up runs each; wall time of the whole process, spawned from Node; CPU = user + system of the child (mean, from /proc/self/stat, 10 ms ticks), steadier than wall time on a loaded machine. Compare the × columns, not absolute ms.`,
    );
    return { title: 'CLI startup: V8 snapshot vs precompiled validator for validate --json (median wall time, ms)', columns: ['command', 'median', 'min', 'p90', '× node -e 0', 'CPU ms', 'CPU × node -e 0'], rows, notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
