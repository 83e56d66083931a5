import { describe, expect, it } from 'vitest';
import { FakeScheduler, settle } from '../../../test/unit/reconcile/fake-scheduler.js';
import { TickLoop } from './loop.js';

/** A loop whose ticks the test ends by hand (`finish`), counting them and the errors it reported. */
function harness() {
  const scheduler = new FakeScheduler();
  const ends: (() => void)[] = [];
  const errors: unknown[] = [];
  let ticks = 0;
  let fail = false;
  const loop = new TickLoop({
    scheduler,
    intervalMs: 1_000,
    tick: () => {
      ticks++;
      if (fail) return Promise.reject(new Error('tick failed'));
      return new Promise<void>((resolve) => ends.push(resolve));
    },
    onError: (e) => errors.push(e),
  });
  const finish = async () => {
    ends.splice(0).forEach((end) => end());
    await settle();
  };
  return { scheduler, loop, finish, errors, ticks: () => ticks, failTicks: () => (fail = true) };
}

describe('TickLoop', () => {
  it('ticks at start and then each time the fake time passes the interval', async () => {
    const h = harness();
    h.loop.start();
    await settle();
    expect(h.ticks()).toBe(1);
    await h.finish();
    await h.scheduler.advance(999);
    expect(h.ticks()).toBe(1);
    await h.scheduler.advance(1);
    expect(h.ticks()).toBe(2);
    await h.finish();
    await h.scheduler.advance(1_000);
    expect(h.ticks()).toBe(3);
  });

  it('runs exactly one more tick for any number of kicks during a running tick', async () => {
    const h = harness();
    h.loop.kick();
    await settle();
    expect(h.ticks()).toBe(1);
    h.loop.kick();
    h.loop.kick();
    h.loop.kick();
    await settle();
    expect(h.ticks()).toBe(1);
    await h.finish();
    expect(h.ticks()).toBe(2);
    await h.finish();
    expect(h.ticks()).toBe(2);
  });

  it('covers kicks made before a kicked tick began with that one tick', async () => {
    const h = harness();
    h.loop.kick();
    h.loop.kick();
    await settle();
    await h.finish();
    expect(h.ticks()).toBe(1);
  });

  it('starts no tick after close, waits for the one in progress, and cancels its timer', async () => {
    const h = harness();
    h.loop.start();
    await settle();
    h.loop.kick();
    let closed = false;
    const closing = h.loop.close().then(() => (closed = true));
    await settle();
    expect(closed).toBe(false);
    await h.finish();
    await closing;
    h.loop.kick();
    await h.scheduler.advance(5_000);
    expect(h.ticks()).toBe(1);
    expect(h.scheduler.pending).toBe(0);
  });

  it('reports a failed tick and goes on ticking', async () => {
    const h = harness();
    h.failTicks();
    h.loop.start();
    await h.scheduler.advance(2_000);
    expect(h.ticks()).toBe(3);
    expect(h.errors).toHaveLength(3);
  });
});
