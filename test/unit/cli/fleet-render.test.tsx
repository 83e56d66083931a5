/**
 * Fleet rendering with fixture FleetViews: the fleets table, the plan and its question, the progress lines and
 * outcome of a fleet apply, the Ink host lines, and the offers table with fleet hosts.
 */
import { renderToString } from 'ink';
import { describe, expect, it } from 'vitest';
import { createPainter, stripAnsi } from '../../../src/ui/colors.js';
import { fleetPlanDecision, renderFleetPlan } from '../../../src/ui/fleet-plan.js';
import { fleetOutcome, fleetProgressLines } from '../../../src/ui/fleet-progress.js';
import { FleetProgress } from '../../../src/ui/fleet-progress.view.js';
import { renderFleetsTable } from '../../../src/ui/fleets-table.js';
import { renderOffersTable } from '../../../src/ui/offers-table.js';
import { watchFleetApply } from '../../../src/ui/fleet-progress.watch.js';
import type { FleetView } from '../../../src/core/api.js';
import { fakeOut } from '../ui/fake-streams.js';
import { T0, fleetPlan, fleetView, instance, sshOffer } from './fleet-fixtures.js';

describe('fleets table', () => {
  it('prints one row per instance, the fleet name on the first only', () => {
    expect(renderFleetsTable([fleetView()], { now: T0 }).split('\n')).toEqual([
      'FLEET     INSTANCE  BACKEND       RESOURCES                                      PRICE  STATUS  CREATED',
      'my-fleet  0         ssh (remote)  cpu=x86:8 mem=64GB disk=500GB gpu=A100:80GB:2  $0     idle    3 mins ago',
      '          1         ssh (remote)  cpu=x86:8 mem=64GB disk=500GB gpu=A100:80GB:2  $0     idle    3 mins ago',
    ]);
  });

  it('shows blocks, unreachable hosts, `-` resources while provisioning, and -v host and error', () => {
    const fleet = fleetView({
      instances: [
        instance({ status: 'busy', blocks: 4, busyBlocks: 1, unreachable: true }),
        instance({ name: 'my-fleet-1', host: 'root@10.77.0.12:22', status: 'provisioning', progress: 'uploading dstack-agent' }),
        instance({ name: 'my-fleet-2', host: 'root@10.77.0.13:22', status: 'terminated', error: 'host key changed' }),
      ],
    });
    const lines = renderFleetsTable([fleet], { now: T0, verbose: true }).split('\n');
    expect(lines[0]).toMatch(/^FLEET\s+INSTANCE\s+HOST\s+BACKEND\s+RESOURCES\s+PRICE\s+STATUS\s+CREATED\s+ERROR$/);
    expect(lines[1]).toMatch(/^my-fleet\s+0\s+root@10\.77\.0\.11:22\s+ssh \(remote\)\s+cpu=x86:8 .*\$0\s+1\/4 busy \(unreachable\)\s+3 mins ago$/);
    expect(lines[2]).toMatch(/^\s+1\s+root@10\.77\.0\.12:22\s+ssh \(remote\)\s+-\s+\$0\s+provisioning\s+3 mins ago$/);
    expect(lines[3]).toMatch(/\s+2\s+.*terminated\s+3 mins ago\s+host key changed$/);
  });

  it('a fleet without instances is one row with the fleet status; colours only with a painter that has them', () => {
    const fleet = fleetView({ status: 'submitted', instances: [] });
    expect(renderFleetsTable([fleet], { now: T0 }).split('\n')[1]).toMatch(/^my-fleet\s+-\s+-\s+-\s+-\s+submitted\s+3 mins ago$/);
    const painted = renderFleetsTable([fleetView()], { now: T0, painter: createPainter(true) });
    expect(painted).toContain('\x1b[32midle');
    expect(renderFleetsTable([fleetView()], { now: T0, painter: createPainter(false) })).not.toContain('\x1b[');
  });
});

describe('fleet plan', () => {
  it('shows the key/value table, the hosts with their actions and the warnings', () => {
    const plan = fleetPlan({
      action: 'update',
      hosts: [
        { host: 'root@10.77.0.11:22', instance: 'my-fleet-0', action: 'keep' },
        { host: 'root@10.77.0.13:22', instance: 'my-fleet-2', action: 'add' },
        { host: 'root@10.77.0.12:22', instance: 'my-fleet-1', action: 'remove' },
      ],
      changes: ['ssh_config.hosts: +10.77.0.13 -10.77.0.12'],
      warnings: ['placement: cluster is not checked yet'],
    });
    expect(renderFleetPlan(plan, { configPath: 'fleet.dstack.yml', placement: 'any' }).split('\n')).toEqual([
      ' Project        main',
      ' Configuration  fleet.dstack.yml',
      ' Type           fleet',
      ' Fleet type     ssh',
      ' Nodes          2',
      ' Placement      any',
      '',
      'HOST                INSTANCE    ACTION',
      'root@10.77.0.11:22  my-fleet-0  keep',
      'root@10.77.0.13:22  my-fleet-2  add',
      'root@10.77.0.12:22  my-fleet-1  remove',
      '',
      'Warning: placement: cluster is not checked yet',
    ]);
    expect(fleetPlanDecision(plan, { force: false })).toEqual({
      message: 'Fleet my-fleet already exists. Detected changes that can be updated in-place:\n  - ssh_config.hosts: +10.77.0.13 -10.77.0.12',
      question: 'Update the fleet?',
      stop: false,
    });
  });

  it('asks to create a new fleet; an unchanged fleet stops unless --force', () => {
    expect(fleetPlanDecision(fleetPlan(), { force: false }).question).toBe('Fleet my-fleet does not exist yet. Create the fleet?');
    expect(fleetPlanDecision(fleetPlan({ action: 'none' }), { force: false })).toEqual({ message: 'Fleet configuration has not changed. Use --force to apply it anyway.', stop: true });
    expect(fleetPlanDecision(fleetPlan({ action: 'none' }), { force: true }).question).toBe('Re-apply the fleet?');
  });
});

describe('fleet apply progress', () => {
  const pending = fleetView({
    status: 'submitted',
    instances: [instance({ status: 'pending', resources: undefined }), instance({ name: 'my-fleet-1', host: 'root@10.77.0.12:22', status: 'pending', resources: undefined })],
  });

  it('prints a line per host each time its status or step changes, and nothing for an unchanged snapshot', () => {
    const step = fleetView({ ...pending, instances: [instance({ status: 'provisioning', progress: 'connecting' }), pending.instances[1]!] });
    expect(fleetProgressLines(undefined, pending)).toEqual(['Fleet my-fleet: submitted', 'my-fleet-0 root@10.77.0.11:22: pending', 'my-fleet-1 root@10.77.0.12:22: pending']);
    expect(fleetProgressLines(pending, step)).toEqual(['my-fleet-0 root@10.77.0.11:22: provisioning (connecting)']);
    expect(fleetProgressLines(step, step)).toEqual([]);
    const failed = fleetView({ ...step, instances: [step.instances[0]!, instance({ name: 'my-fleet-1', host: 'root@10.77.0.12:22', status: 'terminated', error: 'authentication failed' })] });
    expect(fleetProgressLines(step, failed)).toEqual(['my-fleet-1 root@10.77.0.12:22: terminated - authentication failed']);
  });

  it('waits until every host joined or failed; a host removed by a re-apply is not a failure', () => {
    expect(fleetOutcome(pending).kind).toBe('waiting');
    expect(fleetOutcome(fleetView({ status: 'submitted', instances: [] })).kind).toBe('waiting');
    const mixed = fleetView({ instances: [instance(), instance({ name: 'my-fleet-1', status: 'terminated', error: 'no docker' }), instance({ name: 'my-fleet-2', status: 'terminated' })] });
    const outcome = fleetOutcome(mixed);
    expect(outcome.kind === 'settled' && [outcome.joined.map((i) => i.name), outcome.failed.map((i) => i.name)]).toEqual([['my-fleet-0'], ['my-fleet-1']]);
    expect(fleetOutcome(fleetView({ status: 'failed', instances: [instance({ status: 'pending' })] })).kind).toBe('settled');
  });

  it('draws one Ink line per host: a spinner with the step, ✓ when joined, ✗ with the reason when failed', () => {
    const fleet = fleetView({
      instances: [
        instance({ status: 'provisioning', progress: 'uploading dstack-agent' }),
        instance({ name: 'my-fleet-1', host: 'root@10.77.0.12:22' }),
        instance({ name: 'my-fleet-2', host: 'root@10.77.0.13:22', status: 'terminated', error: 'host key changed' }),
      ],
    });
    const lines = stripAnsi(renderToString(<FleetProgress fleet={fleet} color={false} spinnerIntervalMs={0} />, { columns: 120 })).split('\n').map((l) => l.trimEnd());
    expect(lines).toEqual([
      '⠋ Provisioning fleet my-fleet...',
      '  ⠋ my-fleet-0  root@10.77.0.11:22  provisioning (uploading dstack-agent)',
      '  ✓ my-fleet-1  root@10.77.0.12:22  idle',
      '  ✗ my-fleet-2  root@10.77.0.13:22  terminated - host key changed',
    ]);
  });
});

describe('offers of fleet hosts', () => {
  it('adds FLEET and INSTANCE columns only when an offer comes from a fleet', () => {
    const lines = renderOffersTable([sshOffer(), sshOffer({ instance: 'my-fleet-1', availability: 'busy' })], { max: 5 }).split('\n');
    expect(lines[0]).toMatch(/^#\s+BACKEND\s+FLEET\s+INSTANCE\s+RESOURCES\s+INSTANCE TYPE\s+PRICE$/);
    expect(lines[1]).toMatch(/^1\s+ssh \(remote\)\s+my-fleet\s+my-fleet-0\s+cpu=x86:8 mem=64GB disk=500GB gpu=A100:80GB:2\s+instance\s+\$0\s+idle$/);
    expect(lines[2]).toMatch(/^2\s+ssh \(remote\)\s+my-fleet\s+my-fleet-1\s+.*busy$/);
    const { fleet: _fleet, instance: _instance, ...plain } = sshOffer();
    expect(renderOffersTable([plain]).split('\n')[0]).not.toContain('FLEET');
  });
});

describe('watchFleetApply', () => {
  const pending = fleetView({ status: 'submitted', instances: [instance({ status: 'pending' })] });
  const joined = fleetView({ instances: [instance()] });
  async function* snapshots(...views: FleetView[]) {
    for (const v of views) yield v;
  }
  const noInterrupt = () => () => undefined;

  it('follows snapshots until settled, drawing the Ink view in a terminal', async () => {
    const stream = fakeOut({ isTTY: true, columns: 120 });
    const r = await watchFleetApply({ initial: pending, events: () => snapshots(joined), stream, tty: true, color: false, onInterrupt: noInterrupt, debug: true });
    expect(r.outcome.kind).toBe('settled');
    const text = stripAnsi(stream.text());
    expect(text).toContain('Provisioning fleet my-fleet...');
    // The last frame, left on screen, has no spinner once the fleet settled.
    expect(text.slice(text.lastIndexOf('Fleet my-fleet:'))).toMatch(/^Fleet my-fleet:\n\s+✓ my-fleet-0 {2}root@10\.77\.0\.11:22 {2}idle/);
  });

  it('Ctrl+C ends the watch as interrupted (the daemon keeps provisioning); a stream that ends is `ended`', async () => {
    let fire = () => undefined as void;
    const stream = fakeOut();
    async function* forever(signal: AbortSignal) {
      yield pending;
      fire();
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    }
    const r = await watchFleetApply({ initial: pending, events: forever, stream, tty: false, color: false, onInterrupt: (h) => ((fire = h), () => undefined) });
    expect(r.outcome.kind).toBe('interrupted');
    expect(stream.text()).toBe('Fleet my-fleet: submitted\nmy-fleet-0 root@10.77.0.11:22: pending\n');
    const ended = await watchFleetApply({ initial: pending, events: () => snapshots(pending), stream: fakeOut(), tty: false, color: false, onInterrupt: noInterrupt });
    expect(ended.outcome.kind).toBe('ended');
  });
});
