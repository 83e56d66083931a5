/**
 * The daemon in the foreground until SIGINT/SIGTERM: `dstack server`, and the detached daemon the CLI starts
 * (main.ts runs that one without oclif or the command registry, which it never uses: restarting a daemon that was
 * killed is on the path of the user's next command and of every request its services get meanwhile).
 */
import { runDaemon, type DaemonOptions } from './main.js';

export async function serveUntilSignal(options: DaemonOptions, print: (line: string) => void): Promise<void> {
  const daemon = await runDaemon(options);
  print(`dstack server is listening on ${daemon.url}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void daemon.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** The detached daemon's entry (argv `__daemon`): its log lines go to stderr, which the CLI pointed at the log file. */
export async function runDetachedDaemon(): Promise<void> {
  await serveUntilSignal({ log: (line) => process.stderr.write(`${line}\n`) }, (line) => process.stdout.write(`${line}\n`));
}
