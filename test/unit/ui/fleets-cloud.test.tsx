/**
 * Cloud fleets (issue 13) in the CLI views: the fleets table (cloud, SSH and mixed, verbose, colours, narrow
 * terminals), the cloud fleet plan with and without offers, and apply progress (plain lines, the Ink view with the
 * steps an instance went through, a `nodes: 0..N` fleet that has nothing to wait for).
 */
import { renderToString } from 'ink';
import { describe, expect, it } from 'vitest';
import type { FleetView, InstanceView, Offer } from '../../../src/core/api.js';
import { FleetConfigSchema } from '../../../src/core/model/index.js';
import { colorEnabled, createPainter, stripAnsi } from '../../../src/ui/colors.js';
import { fleetPlanDecision, NO_FLEET_OFFERS, renderFleetPlan } from '../../../src/ui/fleet-plan.js';
import { fleetOutcome, fleetProgressLines, recordSteps } from '../../../src/ui/fleet-progress.js';
import { FleetProgress } from '../../../src/ui/fleet-progress.view.js';
import { watchFleetApply } from '../../../src/ui/fleet-progress.watch.js';
import { fleetNodes, renderFleetsTable } from '../../../src/ui/fleets-table.js';
import { T0, fleetPlan, fleetView, instance } from '../cli/fleet-fixtures.js';
import { fakeOut } from './fake-streams.js';

const GiB = 1024 ** 3;
const g5 = { cpus: 4, memoryBytes: 16 * GiB, diskBytes: 100 * GiB, gpus: [{ name: 'A10G', memoryMiB: 24576, vendor: 'nvidia' }], arch: 'x86_64' };

function vm(over: Partial<InstanceView> = {}): InstanceView {
  return instance({
    name: 'gpu-0',
    fleet: 'gpu',
    host: 'ubuntu@10.77.0.21:22',
    backend: 'aws',
    resources: g5,
    cloud: { instanceId: 'i-0abc', instanceType: 'g5.xlarge', region: 'us-east-1', zone: 'us-east-1a', spot: true, price: 0.453 },
    ...over,
  });
}

const gpuFleet = (over: Partial<FleetView> = {}): FleetView =>
  fleetView({
    name: 'gpu',
    nodes: { min: 0, target: 0, max: 2 },
    instances: [
      vm(),
      vm({ name: 'gpu-1', host: 'ubuntu@10.77.0.22:22', status: 'terminated', terminationReason: 'interrupted', cloud: { instanceId: 'i-1', instanceType: 'g5.xlarge', region: 'us-east-1', spot: false, price: 1.006 } }),
      vm({ name: 'gpu-2', host: 'gpu-2', status: 'pending', resources: undefined, cloud: undefined }),
    ],
    ...over,
  });

describe('fleets table with cloud fleets', () => {
  it("prints dstack's NAME NODES GPU SPOT BACKEND PRICE STATUS CREATED: a fleet row, then its instances indented", () => {
    expect(renderFleetsTable([gpuFleet()], { now: T0 }).split('\n')).toEqual([
      'NAME     NODES  GPU              SPOT       BACKEND          PRICE   STATUS                    CREATED',
      'gpu      0..2                                                        active                    3 mins ago',
      '  gpu-0         gpu=A10G:24GB:1  spot       aws (us-east-1)  $0.453  idle                      3 mins ago',
      '  gpu-1         gpu=A10G:24GB:1  on-demand  aws (us-east-1)  $1.006  terminated (interrupted)  3 mins ago',
      '  gpu-2         -                -          aws              -       pending                   3 mins ago',
    ]);
  });

  it('renders SSH and cloud fleets in one table, an SSH fleet counting its hosts; SSH fleets alone keep their table', () => {
    const lines = renderFleetsTable([fleetView(), gpuFleet({ instances: [vm()] })], { now: T0 }).split('\n');
    expect(lines[0]).toMatch(/^NAME\s+NODES\s+GPU\s+SPOT\s+BACKEND\s+PRICE\s+STATUS\s+CREATED$/);
    expect(lines[1]).toMatch(/^my-fleet\s+2\s+active\s+3 mins ago$/);
    expect(lines[2]).toMatch(/^ {2}my-fleet-0\s+gpu=A100:80GB:2\s+-\s+ssh \(remote\)\s+\$0\s+idle\s+3 mins ago$/);
    expect(lines[4]).toMatch(/^gpu\s+0\.\.2\s+active/);
    expect(lines[5]).toMatch(/^ {2}gpu-0\s+gpu=A10G:24GB:1\s+spot\s+aws \(us-east-1\)\s+\$0\.453\s+idle/);
    expect(lines).toHaveLength(6);
    expect(renderFleetsTable([fleetView()], { now: T0 }).split('\n')[0]).toMatch(/^FLEET\s+INSTANCE\s+BACKEND\s+RESOURCES\s+PRICE\s+STATUS\s+CREATED$/);
  });

  it('-v shows RESOURCES instead of GPU and an ERROR: the error, else why the instance ended', () => {
    const fleet = gpuFleet({ instances: [vm(), vm({ name: 'gpu-1', status: 'terminated', terminationReason: 'interrupted' }), vm({ name: 'gpu-2', status: 'terminated', terminationReason: 'provisioning_failed', error: 'no offer had capacity' })] });
    const lines = renderFleetsTable([fleet], { now: T0, verbose: true }).split('\n');
    expect(lines[0]).toMatch(/^NAME\s+NODES\s+RESOURCES\s+SPOT\s+BACKEND\s+PRICE\s+STATUS\s+CREATED\s+ERROR$/);
    expect(lines[2]).toMatch(/^ {2}gpu-0\s+cpu=x86:4 mem=16GB disk=100GB gpu=A10G:24GB:1\s+spot\s+aws \(us-east-1\)\s+\$0\.453\s+idle\s+3 mins ago$/);
    expect(lines[3]).toMatch(/terminated \(interrupted\)\s+3 mins ago\s+interrupted$/);
    expect(lines[4]).toMatch(/terminated \(provisioning failed\)\s+3 mins ago\s+no offer had capacity$/);
  });

  it('NODES reads as dstack writes it: `0..1`, `2`, `1..`; an SSH fleet its live hosts', () => {
    expect(fleetNodes(gpuFleet({ nodes: { min: 0, target: 0, max: 1 } }))).toBe('0..1');
    expect(fleetNodes(gpuFleet({ nodes: { min: 2, target: 2, max: 2 } }))).toBe('2');
    expect(fleetNodes(gpuFleet({ nodes: { min: 1, target: 1 } }))).toBe('1..');
    expect(fleetNodes(fleetView({ instances: [instance(), instance({ name: 'my-fleet-1', status: 'terminated' })] }))).toBe('1');
  });

  it('colours an interrupted instance apart from a plain terminated one, and nothing under NO_COLOR', () => {
    const painted = renderFleetsTable([gpuFleet()], { now: T0, painter: createPainter(true) });
    expect(painted).toContain('\x1b[38;5;220mterminated (interrupted)');
    expect(painted).toContain('\x1b[32midle');
    const noColor = createPainter(colorEnabled({ env: { NO_COLOR: '1' }, isTTY: true }));
    expect(renderFleetsTable([fleetView(), gpuFleet()], { now: T0, painter: noColor })).not.toContain('\x1b[');
  });

  it('fits a narrow terminal, fleet names kept whole', () => {
    const lines = renderFleetsTable([fleetView(), gpuFleet()], { now: T0, width: 70 }).split('\n');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(70);
    expect(lines[1]).toMatch(/^my-fleet\s/);
    expect(lines.some((l) => /^gpu\s+0\.\.2\s/.test(l))).toBe(true);
    expect(lines.join('\n')).toContain('…');
  });
});

describe('cloud fleet plan', () => {
  const config = FleetConfigSchema.parse({ type: 'fleet', name: 'gpu', nodes: '0..2', resources: { gpu: 'A10G:1' }, spot_policy: 'auto', regions: ['us-east-1'], retry: true, max_price: 2 });
  const offer = (price: number): Offer => ({ backend: 'aws', region: 'us-east-1', instanceType: 'g5.xlarge', resources: g5, spot: true, price, availability: 'available' });
  const plan = fleetPlan({ fleetName: 'gpu', hosts: [], nodes: { min: 0, target: 0, max: 2 } });

  it('prints the policies, then the offers table cut to three with "Shown N of M offers"', () => {
    const text = renderFleetPlan({ ...plan, offers: [offer(0.4), offer(0.5), offer(0.6), offer(0.7)], offersTotal: 12, offersMaxPrice: 32.77, catalogs: [{ provider: 'aws', date: '2026-11-20', source: 'shipped' }] }, { configPath: 'fleet.yml', placement: 'any', config });
    const lines = text.split('\n');
    expect(lines.slice(0, -2)).toEqual([
      ' Project        main',
      ' Configuration  fleet.yml',
      ' Type           fleet',
      ' Fleet type     cloud',
      ' Nodes          0..2',
      ' Placement      any',
      ' Resources      cpu=2.. mem=8GB.. disk=100GB.. gpu=A10G:1',
      ' Regions        us-east-1',
      ' Spot policy    auto',
      ' Max price      $2',
      ' Retry policy   1h[no-capacity, interruption, error]',
      ' Idle duration  3d',
      '',
      '#    BACKEND          RESOURCES                                             INSTANCE TYPE  PRICE',
      '1    aws (us-east-1)  cpu=x86:4 mem=16GB disk=100GB gpu=A10G:24GB:1 (spot)  g5.xlarge      $0.4   available',
      '2    aws (us-east-1)  cpu=x86:4 mem=16GB disk=100GB gpu=A10G:24GB:1 (spot)  g5.xlarge      $0.5   available',
      '3    aws (us-east-1)  cpu=x86:4 mem=16GB disk=100GB gpu=A10G:24GB:1 (spot)  g5.xlarge      $0.6   available',
      '...',
      '',
    ]);
    // The plan carries the cheapest few offers only: the "$X max" of all twelve is the daemon's to send, as is the date.
    expect(lines.at(-2)).toBe('Shown 3 of 12 offers, $32.77 max');
    expect(lines.at(-1)).toBe('Prices of 2026-11-20 (aws, shipped catalog)');
    expect(fleetPlanDecision(plan, { force: false }).question).toBe('Fleet gpu does not exist yet. Create the fleet?');
  });

  it('says plainly when no offer matches, and still asks; apply creates `target` when it is above min', () => {
    const none = { ...plan, nodes: { min: 0, target: 1, max: 2 }, offers: [], offersTotal: 0 };
    const text = renderFleetPlan(none, { configPath: 'fleet.yml', placement: 'any', config });
    expect(text).toContain(' Nodes          0..2 (1 on apply)\n');
    expect(text.endsWith(`\n\n${NO_FLEET_OFFERS}`)).toBe(true);
    expect(text).not.toContain('#    BACKEND');
    expect(fleetPlanDecision(none, { force: false }).question).toBe('Fleet gpu does not exist yet. Create the fleet?');
  });
});

describe('cloud fleet apply progress', () => {
  const step = (progress: string, over: Partial<InstanceView> = {}) =>
    fleetView({ name: 'gpu', status: 'submitted', nodes: { min: 1, target: 1, max: 1 }, instances: [vm({ host: 'gpu-0', status: 'provisioning', resources: undefined, cloud: undefined, progress, ...over })] });
  const noCapacity = step('trying g5.xlarge in us-east-1a: no capacity');
  const created = step('created i-0abc (g5.xlarge in us-east-1b, spot, $0.453)');
  const running = step('i-0abc is running at 10.77.0.21', { host: 'ubuntu@10.77.0.21:22' });
  const joined = fleetView({ name: 'gpu', nodes: { min: 1, target: 1, max: 1 }, instances: [vm()] });
  async function* snapshots(...views: FleetView[]) {
    for (const v of views) yield v;
  }
  const noInterrupt = () => () => undefined;

  it('prints each cloud step as a line without a terminal, naming the address once there is one', async () => {
    const stream = fakeOut();
    const r = await watchFleetApply({ initial: noCapacity, events: () => snapshots(created, running, joined), stream, tty: false, color: false, onInterrupt: noInterrupt });
    expect(r.outcome.kind).toBe('settled');
    expect(stream.text().split('\n')).toEqual([
      'Fleet gpu: submitted',
      'gpu-0: provisioning (trying g5.xlarge in us-east-1a: no capacity)',
      'gpu-0: provisioning (created i-0abc (g5.xlarge in us-east-1b, spot, $0.453))',
      'gpu-0 ubuntu@10.77.0.21:22: provisioning (i-0abc is running at 10.77.0.21)',
      'Fleet gpu: active',
      'gpu-0 ubuntu@10.77.0.21:22: idle',
      '',
    ]);
  });

  it('keeps the earlier steps under a working instance in the Ink view, and drops them once it joined', () => {
    const steps = [noCapacity, created].reduce(recordSteps, new Map());
    const frame = (fleet: FleetView, s = steps) => stripAnsi(renderToString(<FleetProgress fleet={fleet} color={false} steps={s} spinnerIntervalMs={0} />, { columns: 120 })).split('\n').map((l) => l.trimEnd());
    expect(frame(created)).toEqual([
      '⠋ Provisioning fleet gpu...',
      '  ⠋ gpu-0  provisioning (created i-0abc (g5.xlarge in us-east-1b, spot, $0.453))',
      '      · trying g5.xlarge in us-east-1a: no capacity',
    ]);
    expect(frame(joined, recordSteps(steps, joined))).toEqual(['Fleet gpu:', '  ✓ gpu-0  ubuntu@10.77.0.21:22  idle']);
  });

  it('shows why an instance failed: its error and the offers it tried', async () => {
    const failed = fleetView({
      name: 'gpu',
      status: 'failed',
      nodes: { min: 1, target: 1, max: 1 },
      instances: [vm({ host: 'gpu-0', status: 'terminated', terminationReason: 'provisioning_failed', resources: undefined, cloud: undefined, progress: undefined })],
    });
    const outcome = fleetOutcome(failed);
    expect(outcome.kind === 'settled' && outcome.failed.map((i) => i.name)).toEqual(['gpu-0']);
    expect(fleetProgressLines(noCapacity, failed)).toEqual(['Fleet gpu: failed', 'gpu-0: terminated (provisioning failed)']);
    const steps = recordSteps(new Map(), noCapacity);
    const lines = stripAnsi(renderToString(<FleetProgress fleet={failed} color={false} steps={steps} spinnerIntervalMs={0} />, { columns: 120 })).split('\n').map((l) => l.trimEnd());
    expect(lines).toEqual(['Fleet gpu:', '  ✗ gpu-0  terminated (provisioning failed)', '      · trying g5.xlarge in us-east-1a: no capacity']);
  });

  it('a `nodes: 0..N` fleet ends at once, drawing and following nothing, in a terminal or not', async () => {
    const empty = fleetView({ name: 'gpu', nodes: { min: 0, target: 0, max: 2 }, instances: [] });
    expect(fleetOutcome(empty)).toEqual({ kind: 'on-demand' });
    for (const tty of [true, false]) {
      const stream = fakeOut({ isTTY: tty });
      const events = () => {
        throw new Error('an on-demand fleet must not be followed');
      };
      const r = await watchFleetApply({ initial: empty, events, stream, tty, color: false, onInterrupt: noInterrupt });
      expect(r.outcome.kind).toBe('on-demand');
      expect(stream.text()).toBe('');
    }
    // `target` above `min` is created on apply, so that one is followed.
    expect(fleetOutcome(fleetView({ ...empty, status: 'submitted', nodes: { min: 0, target: 1, max: 2 } })).kind).toBe('waiting');
  });
});
