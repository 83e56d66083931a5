/**
 * The live fleet apply view in a terminal: "Provisioning fleet <name>..." and one line per host, a spinner with
 * the host's current step while it is being set up, ✓ once it joined, ✗ with the reason when it failed.
 * Loaded with `await import()` only on a TTY, so pipes never pay for Ink.
 */
import { Box, Text } from 'ink';
import type { FleetView } from '../core/api.js';
import { mountLiveView, type LiveView } from './live-view.js';
import { INK_COLORS } from './colors.js';
import { fleetOutcome, hostPhase, hostState } from './fleet-progress.js';
import { Spinner } from './Spinner.js';
import { textWidth } from './table.js';

export interface FleetProgressProps {
  fleet: FleetView;
  color: boolean;
  /** Frame period of the spinners; 0 freezes them (tests). */
  spinnerIntervalMs?: number;
}

const MARKS = { joined: ['✓', INK_COLORS.green], failed: ['✗', INK_COLORS.red], removed: ['-', INK_COLORS.grey] } as const;

export function FleetProgress({ fleet, color, spinnerIntervalMs }: FleetProgressProps) {
  const nameWidth = Math.max(0, ...fleet.instances.map((i) => textWidth(i.name)));
  const hostWidth = Math.max(0, ...fleet.instances.map((i) => textWidth(i.host)));
  const interval = spinnerIntervalMs === undefined ? {} : { intervalMs: spinnerIntervalMs };
  return (
    <Box flexDirection="column">
      {/* The last frame stays on screen: once every host settled, no frozen spinner is left in it. */}
      {fleetOutcome(fleet).kind === 'waiting' ? <Spinner label={`Provisioning fleet ${fleet.name}...`} {...interval} /> : <Text>{`Fleet ${fleet.name}:`}</Text>}
      {fleet.instances.map((i) => {
        const label = `${i.name.padEnd(nameWidth)}  ${i.host.padEnd(hostWidth)}  ${hostState(i)}`;
        const phase = hostPhase(i);
        if (phase === 'working') {
          return (
            <Box key={i.name} paddingLeft={2}>
              <Spinner label={label} {...interval} />
            </Box>
          );
        }
        const [mark, markColor] = MARKS[phase];
        return (
          <Box key={i.name} paddingLeft={2}>
            <Text>
              <Text {...(color ? { color: markColor } : {})}>{mark}</Text> {label}
            </Text>
          </Box>
        );
      })}
    </Box>
  );
}

export function mountFleetProgress(opts: { fleet: FleetView; stream: NodeJS.WriteStream; color: boolean; debug?: boolean }): LiveView<FleetView> {
  // SIGINT reaches the command, which detaches and says so.
  return mountLiveView(opts.fleet, (fleet) => <FleetProgress fleet={fleet} color={opts.color} />, opts.stream, opts.debug ?? false);
}
