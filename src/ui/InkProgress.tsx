/**
 * Live progress in a terminal: finished lines go into `<Static>` (printed once, scroll away naturally),
 * running tasks are a small live region of spinners that Ink redraws.
 */
import { Box, Static, Text, render } from 'ink';
import { INK_COLORS, type Tone } from './colors.js';
import type { ProgressReporter } from './progress.js';
import { Spinner } from './Spinner.js';

export interface ProgressLine {
  key: number;
  text: string;
  tone?: Tone;
}

export interface ProgressProps {
  lines: readonly ProgressLine[];
  tasks: ReadonlyArray<{ id: string; text: string }>;
  color?: boolean;
  spinnerIntervalMs?: number;
}

export function Progress({ lines, tasks, color = true, spinnerIntervalMs }: ProgressProps) {
  return (
    <>
      <Static items={[...lines]}>
        {(l) => (
          <Text key={l.key} {...(color && l.tone ? { color: INK_COLORS[l.tone] } : {})}>
            {l.text}
          </Text>
        )}
      </Static>
      <Box flexDirection="column">
        {tasks.map((t) => (
          <Spinner key={t.id} label={t.text} {...(spinnerIntervalMs === undefined ? {} : { intervalMs: spinnerIntervalMs })} />
        ))}
      </Box>
    </>
  );
}

export interface InkProgressOptions {
  stream: NodeJS.WriteStream;
  color?: boolean;
  /** Tests: render every update as its own frame and freeze spinners. */
  debug?: boolean;
}

export function createInkProgress({ stream, color = true, debug = false }: InkProgressOptions): ProgressReporter {
  const lines: ProgressLine[] = [];
  const tasks = new Map<string, string>();
  const view = () => (
    <Progress
      lines={lines}
      tasks={[...tasks].map(([id, text]) => ({ id, text }))}
      color={color}
      {...(debug ? { spinnerIntervalMs: 0 } : {})}
    />
  );
  const ink = render(view(), { stdout: stream, patchConsole: false, exitOnCtrlC: false, debug });
  let stopped = false;
  const redraw = () => !stopped && ink.rerender(view());
  const log = (text: string, tone?: Tone) => {
    lines.push({ key: lines.length, text, ...(tone ? { tone } : {}) });
    redraw();
  };
  return {
    update(id, text) {
      tasks.set(id, text);
      redraw();
    },
    done(id, text, tone) {
      tasks.delete(id);
      log(text, tone);
    },
    log,
    async stop() {
      if (stopped) return;
      // A task still live at stop (an error cut it short) would leave a frozen spinner frame behind.
      tasks.clear();
      ink.rerender(view());
      stopped = true;
      ink.unmount();
      await ink.waitUntilExit();
    },
  };
}
