import { Args, Flags } from '@oclif/core';
import { once } from 'node:events';
import { parsePortMapping, planPortMappings } from '../core/attach/port-mapping.js';
import { ATTACH_BIND_HOST, connectDaemon, followAttachLogs, parseSince, startAttachSession, waitForRunningReplica, type AttachSession } from '../core/client/index.js';
import { formatAttached, formatConnectionError, formatFinished, formatLogsError, formatWaiting } from '../ui/attach-messages.js';
import { BaseCommand, projectFlag } from './base.js';

export default class Attach extends BaseCommand {
  static override summary = "Forward a replica's ports to this machine and follow its logs.";
  static override description =
    "Forwards ports of one replica of a run to 127.0.0.1 on this machine through the dstack server (it holds the hosts' " +
    "SSH connections), prints the local URLs, then the replica's logs until Ctrl+C, which closes every forwarded port. " +
    'The service port is forwarded to the same local port; -p adds ports or overrides that one. A run still starting is waited for.';
  static override examples = [
    'dstack attach my-service',
    'dstack attach my-service -p 8080:8000',
    'dstack attach my-service --replica 1 -p 9090 -p "*:6006"',
  ];
  static override args = { name: Args.string({ required: true, description: 'The run name.' }) };
  static override flags = {
    project: projectFlag,
    port: Flags.string({
      char: 'p',
      multiple: true,
      multipleNonGreedy: true,
      helpValue: 'MAPPING',
      description: 'LOCAL:REMOTE, REMOTE (the same local port) or *:REMOTE (any free local port); repeatable.',
    }),
    replica: Flags.integer({ min: 0, description: 'The replica number. Defaults to the first running replica.' }),
    logs: Flags.boolean({ default: true, description: "Print the replica's logs as they follow (always on; accepted as dstack spells it)." }),
    since: Flags.string({ description: 'Only logs newer than a duration (10m, 2h) or an RFC 3339 time.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Attach);
    const given = (flags.port ?? []).map(parsePortMapping);
    const since = flags.since === undefined ? undefined : parseSince(flags.since, Date.now());
    const client = await connectDaemon({ env: this.io.env });
    const p = this.painter(this.io.stderr);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let session: AttachSession | undefined;
    let exitCode = 0;
    try {
      const info = await waitForRunningReplica(client, args.name, flags.replica, { signal: stop.signal, onWaiting: (i) => this.note(formatWaiting(i, p)) });
      const replica = info?.replica?.num;
      if (info === undefined || replica === undefined) return this.note('\nDetached');
      session = await startAttachSession({
        open: (remote) => client.openAttach(args.name, replica, remote),
        mappings: planPortMappings(info.servicePort, given),
        onConnectionError: (port, e) => this.note(formatConnectionError({ host: ATTACH_BIND_HOST, ...port }, e, p)),
      });
      this.note(formatAttached(args.name, replica, session.ports.map((f) => ({ host: ATTACH_BIND_HOST, ...f })), p));
      const finished = await followAttachLogs(client, args.name, replica, {
        ...(since === undefined ? {} : { since }),
        signal: stop.signal,
        write: async (chunk) => {
          if (!this.io.stdout.write(chunk)) await once(this.io.stdout, 'drain');
        },
        onError: (e) => this.note(formatLogsError(e, p)),
      });
      if (finished) {
        this.note(formatFinished(finished, p));
        // dstack's exit code for an attach that saw its run end: 0 only for `done`.
        exitCode = finished.runStatus === 'done' ? 0 : 1;
      } else this.note('\nDetached');
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await session?.close();
      await client.close();
    }
    if (exitCode !== 0) this.exit(exitCode);
  }
}
