import { describe, expect, it } from 'vitest';
import { applyOutcome, progressLines, publishedLines } from '../../../src/ui/apply-progress.js';
import { createPainter, stripAnsi } from '../../../src/ui/colors.js';
import { formatResources, renderOffersTable } from '../../../src/ui/offers-table.js';
import { planDecision, renderPlan } from '../../../src/ui/plan.js';
import { renderRunsTable } from '../../../src/ui/runs-table.js';
import { T0, offer, plan, replica, run } from './fixtures.js';

const GiB = 1024 ** 3;

describe('plan', () => {
  it('prints the key/value table then the offers, labelling the local runtime', () => {
    const text = renderPlan(plan(), { configPath: 'service.dstack.yml' });
    const keys = text.split('\n').slice(0, 11).map((l) => l.trim().split(/\s{2,}/));
    expect(keys).toEqual([
      ['Project', 'main'], ['User', 'admin'], ['Configuration', 'service.dstack.yml'], ['Type', 'service'],
      ['Resources', 'cpu=2.. mem=8GB.. disk=100GB..'], ['Spot policy', 'auto'], ['Max price', 'off'], ['Retry policy', 'off'],
      ['Creation policy', 'reuse-or-create'], ['Idle duration', '5m'], ['Max duration', 'off'],
    ]);
    expect(text).toContain('#  BACKEND         RESOURCES                      INSTANCE TYPE  PRICE');
    expect(text).toContain('1  local (docker)  cpu=x86:2 mem=24GB disk=100GB  local          $0     idle');
    expect(text).not.toContain('Shown');
  });

  it('shows 3 offers of N with a "..." row, the max price, and warnings', () => {
    const offers = [0, 1, 2, 3, 4].map((i) => offer({ backend: 'aws', region: 'us-east-1', instanceType: `g5.${i}xlarge`, price: 0.5 + i, runtime: undefined }));
    const catalogs = [{ provider: 'aws', date: '2026-11-20', source: 'shipped' }];
    const text = renderPlan(plan({ offers, totalOffers: 7, warnings: ['rate_limits are applied per daemon'], catalogs }), { configPath: 'x.yml' });
    expect(text).toContain('Prices of 2026-11-20 (aws, shipped catalog)');
    const rows = text.split('\n').filter((l) => /^\d\s/.test(l) || l.startsWith('...'));
    expect(rows.map((r) => r.split(/\s{2,}/)[1] ?? r)).toEqual(['aws (us-east-1)', 'aws (us-east-1)', 'aws (us-east-1)', '...']);
    expect(text).toContain('Shown 3 of 7 offers, $4.5 max');
    expect(text).toContain('Warning: rate_limits are applied per daemon');
  });

  it('dims offers after the first only when colour is on', () => {
    const text = renderOffersTable([offer(), offer({ runtime: 'process' })], { painter: createPainter(true) });
    const lines = text.split('\n');
    expect(lines[1]).not.toContain('\x1b[2m');
    expect(lines[2]).toContain('\x1b[2m');
    expect(stripAnsi(lines[2]!)).toContain('local (processes)');
  });

  it('formats GPUs and spot as dstack does', () => {
    const res = { cpus: 32, memoryBytes: 256 * GiB, diskBytes: 1000 * GiB, arch: 'x86_64', gpus: Array(8).fill({ name: 'A100', memoryMiB: 81920, vendor: 'nvidia' }) };
    expect(formatResources(res, true)).toBe('cpu=x86:32 mem=256GB disk=1000GB gpu=A100:80GB:8 (spot)');
  });

  it('asks the question that fits the action', () => {
    expect(planDecision(plan(), { yes: false, force: false })).toEqual({ question: 'Submit the run http-server-service?', stop: false });
    const update = planDecision(plan({ action: 'update', changes: ['replicas: 1 → 2'] }), { yes: false, force: false });
    expect(update.message).toBe('Active run http-server-service already exists. Detected changes that can be updated in-place:\n  - replicas: 1 → 2');
    expect(update.question).toBe('Update the run?');
    expect(planDecision(plan({ action: 'none' }), { yes: true, force: false })).toEqual({
      message: 'Active run http-server-service already exists. Detected no changes.\nUse --force to apply anyway.',
      stop: true,
    });
    expect(planDecision(plan({ action: 'none' }), { yes: true, force: true }).stop).toBe(false);
  });
});

describe('runs table', () => {
  it('merges a single-replica run into one row', () => {
    const text = renderRunsTable([run()], { now: T0 });
    expect(text.split('\n')).toEqual([
      'NAME                 BACKEND  GPU  PRICE  STATUS   SUBMITTED',
      'http-server-service  local    -    $0     running  11 mins ago',
    ]);
  });

  it('shows a run row and indented replica rows, only the newest submission of each replica', () => {
    // Indented by two spaces, as dstack prints job rows.
    const r = run({
      desiredReplicas: 2,
      replicas: [replica({ status: 'failed', error: 'exited (1)' }), replica({ submission: 1, status: 'provisioning', ready: false }), replica({ num: 1 })],
    });
    const text = renderRunsTable([r], { now: T0 });
    expect(text).toMatch(/^  replica=0 /m);
    const lines = text.split('\n').map((l) => l.trim().split(/\s{2,}/));
    expect(lines.slice(1).map((c) => [c[0], c.includes('provisioning') ? 'provisioning' : c.includes('running') ? 'running' : '?'])).toEqual([
      ['http-server-service', 'running'],
      ['replica=0', 'provisioning'],
      ['replica=1', 'running'],
    ]);
  });

  it('-v adds resources, instance type, probes, error, replicas, RPS and model', () => {
    const r = run({ rps: 3.25, model: { name: 'llama', url: 'u', format: 'openai' }, replicas: [replica({ probes: [{ successStreak: 2, readyAfter: 1 }] })] });
    const [header, row] = renderRunsTable([r], { now: T0, verbose: true }).split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['NAME', 'BACKEND', 'RESOURCES', 'INSTANCE TYPE', 'PRICE', 'STATUS', 'PROBES', 'SUBMITTED', 'ERROR', 'REPLICAS', 'RPS', 'MODEL']);
    expect(row).toContain('cpu=x86:2 mem=24GB disk=100GB');
    expect(row).toMatch(/✓\s+11 mins ago\s+1\/1\s+3\.3\s+llama$/);
  });

  it('prefers a status message, unless it is a stale status name', () => {
    const cells = (r: ReturnType<typeof run>) => renderRunsTable([r], { now: T0 }).split('\n')[1]!.split(/\s{2,}/);
    expect(cells(run({ status: 'failed', statusMessage: 'no capacity' }))).toContain('no capacity');
    expect(cells(run({ status: 'terminated', statusMessage: 'running' }))).toContain('terminated');
  });

  it('colours statuses only when asked (NO_COLOR is decided by the painter)', () => {
    const failed = run({ status: 'failed', error: 'no capacity' });
    expect(renderRunsTable([failed], { now: T0 })).not.toContain('\x1b[');
    expect(renderRunsTable([failed], { now: T0, painter: createPainter(true) })).toContain('\x1b[31mfailed');
  });
});

describe('apply progress (plain lines)', () => {
  it('prints one line per status change and nothing when nothing changed', () => {
    const a = run({ status: 'submitted', replicas: [replica({ status: 'submitted', ready: false })] });
    const b = run({ status: 'provisioning', replicas: [replica({ status: 'pulling', ready: false })] });
    const c = run({ status: 'running', replicas: [replica({ status: 'running', ready: false })] });
    const d = run({ status: 'running', replicas: [replica({ status: 'running', ready: true })] });
    expect(progressLines(undefined, a)).toEqual(['http-server-service: submitted', 'http-server-service replica=0: submitted']);
    expect(progressLines(a, b)).toEqual(['http-server-service: provisioning', 'http-server-service replica=0: pulling']);
    expect(progressLines(b, c)).toEqual(['http-server-service: running', 'http-server-service replica=0: running, waiting for probes']);
    expect(progressLines(c, d)).toEqual(['http-server-service replica=0: running, ready']);
    expect(progressLines(d, d)).toEqual([]);
  });

  it('is ready only when every desired replica is running and ready; a failed run carries its reason', () => {
    expect(applyOutcome(run({ desiredReplicas: 2 })).kind).toBe('waiting');
    expect(applyOutcome(run({ desiredReplicas: 2, replicas: [replica(), replica({ num: 1 })] })).kind).toBe('ready');
    expect(applyOutcome(run({ replicas: [replica({ ready: false })] })).kind).toBe('waiting');
    expect(applyOutcome(run({ status: 'failed', error: 'image not found' }))).toEqual({ kind: 'failed', reason: 'image not found' });
  });

  it('prints the service and model URLs', () => {
    expect(publishedLines(run({ model: { name: 'llama', url: 'http://127.0.0.1:3000/proxy/models/main/', format: 'openai' } }))).toEqual([
      'Service is published at:',
      '  http://127.0.0.1:3000/proxy/services/main/http-server-service/',
      'Model llama is published at:',
      '  http://127.0.0.1:3000/proxy/models/main/',
    ]);
  });
});
