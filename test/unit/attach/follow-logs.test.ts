// The logs half of attach against a fake of the daemon client (our own interface): it follows the replica across a
// resubmission, resumes a broken stream from where it broke, reports log errors without stopping, ends with the run.
import { describe, expect, it } from 'vitest';
import type { RunStatus } from '../../../src/core/api.js';
import type { AttachInfo } from '../../../src/core/attach/api.js';
import { followAttachLogs } from '../../../src/core/client/attach-logs.js';
import type { LogsQuery } from '../../../src/core/client/daemon-client.js';
import { UserError } from '../../../src/core/errors.js';

type Step = { runStatus: RunStatus; submission?: number; status?: 'running' | 'provisioning'; logs?: string[] | Error };

function fakeClient(steps: Step[]) {
  const queries: LogsQuery[] = [];
  let i = 0;
  let current: Step = steps[0]!;
  return {
    queries,
    client: {
      async attachInfo(name: string): Promise<AttachInfo> {
        current = steps[Math.min(i++, steps.length - 1)]!;
        return {
          run: name,
          runStatus: current.runStatus,
          servicePort: 8000,
          ...(current.submission === undefined ? {} : { replica: { num: 0, submission: current.submission, status: current.status ?? 'running' } }),
        };
      },
      async logs(_name: string, q: LogsQuery = {}): Promise<AsyncIterable<Uint8Array>> {
        queries.push(q);
        const logs = current.logs ?? [];
        if (logs instanceof Error) throw logs;
        return (async function* () {
          for (const l of logs) yield Buffer.from(l);
        })();
      },
    },
  };
}

describe('attach logs', () => {
  it('prints each submission of the replica once, resumes a broken stream at its end, and stops with the run', async () => {
    const { client, queries } = fakeClient([
      { runStatus: 'provisioning', submission: 0, status: 'provisioning' },
      { runStatus: 'running', submission: 0, logs: ['a1\n', 'a2\n'] },
      { runStatus: 'running', submission: 0, logs: ['a3\n'] },
      { runStatus: 'running', submission: 1, logs: ['b1\n'] },
      { runStatus: 'terminated', submission: 1 },
    ]);
    let out = '';
    const clock = [100_000, 160_000, 170_000];
    const info = await followAttachLogs(client, 'web', 0, {
      since: 42,
      signal: new AbortController().signal,
      write: (c) => void (out += Buffer.from(c).toString()),
      now: () => clock.shift() ?? 0,
      sleep: async () => undefined,
    });
    expect(out).toBe('a1\na2\na3\nb1\n');
    expect(queries).toEqual([
      { replica: 0, follow: true, since: 42 },
      { replica: 0, follow: true, since: 100 },
      { replica: 0, follow: true },
    ]);
    expect(info?.runStatus).toBe('terminated');
  });

  it('a failure to read logs is reported once and retried; forwarding does not depend on it', async () => {
    const unavailable = new UserError('LOGS_UNAVAILABLE', 'replica has no container', { status: 404 });
    const { client } = fakeClient([
      { runStatus: 'running', submission: 0, logs: unavailable },
      { runStatus: 'running', submission: 0, logs: unavailable },
      { runStatus: 'running', submission: 0, logs: ['ok\n'] },
      { runStatus: 'done', submission: 0 },
    ]);
    const errors: string[] = [];
    let out = '';
    const info = await followAttachLogs(client, 'web', 0, {
      signal: new AbortController().signal,
      write: (c) => void (out += Buffer.from(c).toString()),
      onError: (e) => errors.push(e.code),
      sleep: async () => undefined,
    });
    expect(errors).toEqual(['LOGS_UNAVAILABLE']);
    expect(out).toBe('ok\n');
    expect(info?.runStatus).toBe('done');
  });

  it('an aborted signal ends the follow without a result', async () => {
    const stop = new AbortController();
    const { client } = fakeClient([{ runStatus: 'running', submission: 0, logs: ['x\n'] }]);
    const info = await followAttachLogs(client, 'web', 0, { signal: stop.signal, write: () => stop.abort(), sleep: async () => undefined });
    expect(info).toBeUndefined();
  });
});
