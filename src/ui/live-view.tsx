/**
 * A live region redrawn in place (apply and fleet progress, `ps -w`, `metrics -w`): one Ink render whose frame is
 * made from the latest value. Ink handles no Ctrl+C here: SIGINT reaches the command, which decides what it means.
 */
import { render } from 'ink';
import type { ReactElement } from 'react';

export interface LiveView<T> {
  update(value: T): void;
  /** Unmounts, leaving the last frame on screen. Idempotent. */
  stop(): Promise<void>;
}

export function mountLiveView<T>(initial: T, frame: (value: T) => ReactElement, stream: NodeJS.WriteStream, debug = false): LiveView<T> {
  const app = render(frame(initial), { stdout: stream, exitOnCtrlC: false, patchConsole: false, debug });
  let stopped = false;
  return {
    update: (value) => {
      if (!stopped) app.rerender(frame(value));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      app.unmount();
      await app.waitUntilExit().catch(() => undefined);
    },
  };
}
