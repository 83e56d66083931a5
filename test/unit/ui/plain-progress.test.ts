import { describe, expect, it } from 'vitest';
import { createPlainProgress } from '../../../src/ui/plain-progress.js';
import { createProgress } from '../../../src/ui/progress.js';
import { fakeOut } from './fake-streams.js';

describe('plain progress', () => {
  it('prints a task line only when its text changes, and finished lines once', async () => {
    const out = fakeOut();
    const p = createPlainProgress({ stream: out });
    p.update('r1', 'replica 0: pulling');
    p.update('r1', 'replica 0: pulling');
    p.update('r1', 'replica 0: running');
    p.done('r1', 'replica 0: ready', 'green');
    p.log('Service is published at:');
    await p.stop();
    p.log('after stop');
    expect(out.text()).toBe('replica 0: pulling\nreplica 0: running\nreplica 0: ready\nService is published at:\n');
  });

  it('is what createProgress picks when the stream is not a terminal (no ANSI, no spinner)', async () => {
    const out = fakeOut({ isTTY: false });
    const p = await createProgress({ stream: out, env: {} });
    p.update('a', 'Getting apply plan...');
    p.done('a', 'done', 'green');
    await p.stop();
    expect(out.text()).toBe('Getting apply plan...\ndone\n');
  });

  it('stays plain under CI even on a terminal', async () => {
    const out = fakeOut({ isTTY: true });
    const p = await createProgress({ stream: out, env: { CI: 'true', NO_COLOR: '1' } });
    p.update('a', 'working');
    await p.stop();
    expect(out.text()).toBe('working\n');
  });
});
