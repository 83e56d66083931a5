/**
 * The live fleet apply view in a terminal: "Provisioning fleet <name>..." and one line per host, a spinner with
 * the host's current step while it is being set up, ✓ once it joined, ✗ with the reason when it failed. Under a
 * host still working (or failed) its earlier steps stay listed, dimmed, so offers tried without capacity are not lost.
 * Loaded with `await import()` only on a TTY, so pipes never pay for Ink.
 */
import { Box, Text } from 'ink';
import type { FleetView } from '../core/api.js';
import { mountLiveView, type LiveView } from './live-view.js';
import { INK_COLORS } from './colors.js';
import { fleetOutcome, hostPhase, hostState, pastSteps, recordSteps, type FleetSteps } from './fleet-progress.js';
import { Spinner } from './Spinner.js';
import { textWidth } from './table.js';

export interface FleetProgressProps {
  fleet: FleetView;
  color: boolean;
  /** Steps seen so far per instance (`recordSteps`); none = only the current step. */
  steps?: FleetSteps;
  /** Frame period of the spinners; 0 freezes them (tests). */
  spinnerIntervalMs?: number;
}

const MARKS = { joined: ['✓', INK_COLORS.green], failed: ['✗', INK_COLORS.red], removed: ['-', INK_COLORS.grey] } as const;

// A cloud instance's host is its name until it has an address: not worth a second column.
const hostOf = (i: FleetView['instances'][number]) => (i.host === i.name ? '' : i.host);

function PastSteps({ steps }: { steps: readonly string[] }) {
  return (
    <>
      {steps.map((step, n) => (
        <Box key={n} paddingLeft={6}>
          <Text dimColor>{`· ${step}`}</Text>
        </Box>
      ))}
    </>
  );
}

export function FleetProgress({ fleet, color, steps, spinnerIntervalMs }: FleetProgressProps) {
  const nameWidth = Math.max(0, ...fleet.instances.map((i) => textWidth(i.name)));
  const hostWidth = Math.max(0, ...fleet.instances.map((i) => textWidth(hostOf(i))));
  const interval = spinnerIntervalMs === undefined ? {} : { intervalMs: spinnerIntervalMs };
  return (
    <Box flexDirection="column">
      {/* The last frame stays on screen: once every host settled, no frozen spinner is left in it. */}
      {fleetOutcome(fleet).kind === 'waiting' ? <Spinner label={`Provisioning fleet ${fleet.name}...`} {...interval} /> : <Text>{`Fleet ${fleet.name}:`}</Text>}
      {fleet.instances.map((i) => {
        const host = hostWidth > 0 ? `${hostOf(i).padEnd(hostWidth)}  ` : '';
        const label = `${i.name.padEnd(nameWidth)}  ${host}${hostState(i)}`;
        const phase = hostPhase(i);
        const past = steps ? pastSteps(steps, i) : [];
        if (phase === 'working') {
          return (
            <Box key={i.name} flexDirection="column">
              <Box paddingLeft={2}>
                <Spinner label={label} {...interval} />
              </Box>
              <PastSteps steps={past} />
            </Box>
          );
        }
        const [mark, markColor] = MARKS[phase];
        return (
          <Box key={i.name} flexDirection="column">
            <Box paddingLeft={2}>
              <Text>
                <Text {...(color ? { color: markColor } : {})}>{mark}</Text> {label}
              </Text>
            </Box>
            <PastSteps steps={past} />
          </Box>
        );
      })}
    </Box>
  );
}

export function mountFleetProgress(opts: { fleet: FleetView; stream: NodeJS.WriteStream; color: boolean; debug?: boolean }): LiveView<FleetView> {
  // SIGINT reaches the command, which detaches and says so. Steps accumulate across snapshots of this one view.
  let steps: FleetSteps = new Map();
  const frame = (fleet: FleetView) => {
    steps = recordSteps(steps, fleet);
    return <FleetProgress fleet={fleet} color={opts.color} steps={steps} />;
  };
  return mountLiveView(opts.fleet, frame, opts.stream, opts.debug ?? false);
}
