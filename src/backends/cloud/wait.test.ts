import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { realScheduler, retryUntilSsh, type Scheduler } from './wait.js';

function fakeScheduler(): Scheduler & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return { slept, clock: () => now, sleep: async (ms) => void (slept.push(ms), (now += ms)) };
}

/** An attempt that fails with `codes` in turn, then answers 'joined'. */
function attempts(...codes: string[]): { run: () => Promise<string>; count: () => number } {
  let n = 0;
  return {
    count: () => n,
    run: async () => {
      const code = codes[n++];
      if (code) throw new UserError(code as Uppercase<string>, `${code} on try ${n}`, { hint: 'check sshd' });
      return 'joined';
    },
  };
}

const wait = (scheduler: Scheduler, lines: string[] = [], signal?: AbortSignal) => ({
  what: 'i-1 (10.0.0.1)',
  scheduler,
  timeoutMs: 60_000,
  backoffMs: 1_000,
  maxBackoffMs: 15_000,
  onRetry: (l: string) => lines.push(l),
  ...(signal ? { signal } : {}),
});

describe('retryUntilSsh', () => {
  it('retries a refused connection and a not-yet-installed key with doubling backoff, then returns', async () => {
    const s = fakeScheduler();
    const lines: string[] = [];
    const a = attempts('SSH_UNREACHABLE', 'SSH_UNREACHABLE', 'SSH_AUTH_FAILED');
    await expect(retryUntilSsh(wait(s, lines), a.run)).resolves.toBe('joined');
    expect(s.slept).toEqual([1_000, 2_000, 4_000]);
    expect(lines[2]).toBe('sshd of i-1 (10.0.0.1) is not ready (SSH_AUTH_FAILED); next try in 4 s');
  });

  it('does not retry a changed host key or any other failure', async () => {
    const s = fakeScheduler();
    const a = attempts('HOST_KEY_CHANGED');
    await expect(retryUntilSsh(wait(s), a.run)).rejects.toMatchObject({ code: 'HOST_KEY_CHANGED' });
    await expect(retryUntilSsh(wait(s), () => Promise.reject(new Error('bug')))).rejects.toThrow('bug');
    expect([a.count(), s.slept]).toEqual([1, []]);
  });

  it('caps the backoff and gives up at the deadline with the last failure and its hint', async () => {
    const s = fakeScheduler();
    const a = attempts(...Array<string>(50).fill('SSH_UNREACHABLE'));
    const error = await retryUntilSsh(wait(s), a.run).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SSH_UNREACHABLE', message: expect.stringMatching(/^i-1 \(10\.0\.0\.1\) did not accept SSH within 60 s: SSH_UNREACHABLE on try \d+$/), hint: 'check sshd' });
    expect(s.slept).toEqual([1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
  });

  it('stops retrying once aborted', async () => {
    const controller = new AbortController();
    const a = attempts('SSH_UNREACHABLE', 'SSH_UNREACHABLE');
    const pending = retryUntilSsh(wait(realScheduler, [], controller.signal), a.run);
    controller.abort(new Error('daemon stopping'));
    await expect(pending).rejects.toThrow(/daemon stopping|SSH_UNREACHABLE on try 1/);
    expect(a.count()).toBe(1);
  });
});
