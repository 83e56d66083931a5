// Bench section `reconcile` (issue 15): what one reconciler tick costs with 10, 50 and 100 steady services (2 running,
// ready replicas each), without Docker: the real Reconciler over the real JSON store and route table, an in-memory
// agent (test/unit/reconcile/fake-agent.ts) and fake time, so a tick is only the control loop's own CPU. A steady
// run should cost nothing per tick: the per-tick time should not grow with the number of services.
// RECONCILE_BENCH_ROOT=<another checkout> measures that tree's code instead (e.g. the last commit, for a before/after
// in one window). Standalone: `node scripts/bench/reconcile.mjs`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleModules, fmt, median } from './lib.mjs';

export const name = 'reconcile';

const ROOT = process.env.RECONCILE_BENCH_ROOT ?? fileURLToPath(new URL('../..', import.meta.url));
const SIZES = [10, 50, 100];
const GOAL = 1.5;

function load() {
  const at = (p) => join(ROOT, p);
  return bundleModules('reconcile', [
    `export { Reconciler } from '${at('src/daemon/reconcile/reconciler.ts')}';`,
    `export { createJsonStateStore } from '${at('src/daemon/state/json-store.ts')}';`,
    `export { emptyState } from '${at('src/core/state/schema.ts')}';`,
    `export { MemoryRouteTable } from '${at('src/proxy/routing/route-table.ts')}';`,
    `export { FakeBackend } from '${at('test/unit/reconcile/fake-agent.ts')}';`,
    `export { FakeScheduler } from '${at('test/unit/reconcile/fake-scheduler.ts')}';`,
    `export { run, replica } from '${at('test/unit/reconcile/fixtures.ts')}';`,
  ]);
}

/** Per-tick CPU (ms) of a reconciler holding `size` steady services, the median over `ticks` ticks. */
async function measure(m, size, ticks) {
  const dir = await mkdtemp(join(tmpdir(), 'bench-reconcile-'));
  const runs = Array.from({ length: size }, (_, i) => {
    const name = `svc${i}`;
    const replicas = [0, 1].map((num) => ({ ...m.replica({ num, readyAt: 0 }), id: `${name}-${num}-0` }));
    const settings = { ...m.run().settings, replicas: { min: 2, max: 2 } };
    return m.run({ id: `r${i}`, name, status: 'running', statusMessage: 'running', desiredReplicas: 2, settings, replicas });
  });
  const store = m.createJsonStateStore(join(dir, 'state.json'), { ...m.emptyState(), runs });
  const routes = new m.MemoryRouteTable();
  const scheduler = new m.FakeScheduler(1_000);
  const backend = new m.FakeBackend(['local']);
  for (const r of runs) for (const x of r.replicas) backend.agent('local').holds({ id: x.id, runName: r.name, replicaNum: x.num, hostPort: x.hostPort });
  const reconciler = new m.Reconciler({
    store, backend, routes, events: { notify() {} }, log() {}, clock: scheduler.clock, scheduler,
    tickMs: 1_000, backoffBaseMs: 1_000, crashLoopLimit: 3, readTimeoutMs: 1_000,
  });
  const stop = await reconciler.start();
  try {
    await scheduler.advance(5_000); // adoption and the first decisions settle
    const changed = store.runs().filter((r) => r.status !== 'running' || r.replicas.some((x) => x.status !== 'running')).length;
    if (changed > 0) throw new Error(`bench reconcile: ${changed} runs are not steady`);
    const decided0 = reconciler.decisions?.();
    const samples = [];
    for (let i = 0; i < ticks; i++) {
      const c0 = process.cpuUsage();
      await scheduler.advance(1_000);
      const c = process.cpuUsage(c0);
      samples.push((c.user + c.system) / 1000);
    }
    const decided = decided0 === undefined ? undefined : (reconciler.decisions() - decided0) / ticks;
    return { size, tick: median(samples), decided };
  } finally {
    await stop();
    await routes.close();
    await store.flush();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(ctx = {}) {
  const log = ctx.log ?? ((msg) => process.stderr.write(`[reconcile] ${msg}\n`));
  const ticks = ctx.runs ?? (ctx.quick ? 50 : 200);
  const m = await load();
  await measure(m, 50, 100); // warm-up: the first ticks compile the code
  const rows = [];
  for (const size of SIZES) {
    const r = await measure(m, size, ticks);
    log(`${size} services: ${r.tick.toFixed(3)} ms per tick${r.decided === undefined ? '' : `, ${r.decided} runs decided per tick`}`);
    rows.push(r);
  }
  const ref = rows[0];
  const last = rows[rows.length - 1];
  const growth = last.tick / ref.tick;
  return {
    title: `Reconciler tick with steady services (2 replicas each; in-memory agent, fake time; median of ${ticks} ticks)`,
    columns: ['figure', ...rows.map((r) => `${r.size} services`)],
    rows: [
      ['CPU per tick (ms)', ...rows.map((r) => `${r.tick.toFixed(3)}${r === ref ? '' : ` (${fmt.ratio(r.tick / ref.tick)})`}`)],
      ['runs decided per tick', ...rows.map((r) => (r.decided === undefined ? 'n/a' : String(r.decided)))],
    ],
    notes: [
      `Goal: CPU per tick at ${last.size} services within ${GOAL}× of ${ref.size}: ${growth <= GOAL ? 'met' : 'NOT met'} (${fmt.ratio(growth)}).`,
      `Code measured: ${ROOT}.`,
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { markdownSection } = await import('./lib.mjs');
  process.stdout.write(`${markdownSection(await run())}\n`);
}
