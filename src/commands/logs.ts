import { Args, Flags } from '@oclif/core';
import { once } from 'node:events';
import { connectDaemon, parseSince } from '../core/client/index.js';
import { BaseCommand, projectFlag } from './base.js';

export default class Logs extends BaseCommand {
  static override summary = "Show a run's logs.";
  static override description = 'Prints the logs of one replica (default 0) as the service wrote them, byte for byte. -f follows them.';
  static override examples = ['dstack logs my-service', 'dstack logs my-service --replica 1 -f --since 10m'];
  static override args = { name: Args.string({ required: true, description: 'The run name.' }) };
  static override flags = {
    project: projectFlag,
    replica: Flags.integer({ min: 0, default: 0, description: 'The replica number.' }),
    follow: Flags.boolean({ char: 'f', description: 'Keep printing new lines until Ctrl+C or the replica ends.' }),
    since: Flags.string({ description: 'Only logs newer than a duration (10m, 2h) or an RFC 3339 time.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logs);
    const since = flags.since === undefined ? undefined : parseSince(flags.since, Date.now());
    const client = await connectDaemon({ env: this.io.env });
    const stop = new AbortController();
    const onSigint = () => stop.abort();
    process.on('SIGINT', onSigint);
    try {
      const body = await client.logs(args.name, { replica: flags.replica, follow: flags.follow, ...(since === undefined ? {} : { since }) }, stop.signal);
      for await (const chunk of body) {
        // Bytes as stored: no decoding, so partial UTF-8 sequences and colours pass through intact.
        if (!this.io.stdout.write(chunk)) await once(this.io.stdout, 'drain');
      }
    } finally {
      process.off('SIGINT', onSigint);
      await client.close();
    }
  }
}
