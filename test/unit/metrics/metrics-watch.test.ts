import { describe, expect, it, vi } from 'vitest';

// Ink (is-in-ci) draws only the last frame, at unmount, when CI is set in its process; this test is about the frames
// a terminal user sees, so Ink is loaded without it (hoisted above the imports; each test file has its own process).
vi.hoisted(() => {
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
});
import type { RunMetrics } from '../../../src/core/api.js';
import { stripAnsi } from '../../../src/ui/colors.js';
import { mountMetricsWatch } from '../../../src/ui/metrics-table.view.js';
import { fakeOut } from '../ui/fake-streams.js';

const GB = 1024 ** 3;
const starting: RunMetrics = { run: 'web', project: 'main', status: 'provisioning', replicas: [{ num: 0, submission: 0, status: 'pulling' }] };
const running: RunMetrics = {
  run: 'web',
  project: 'main',
  status: 'running',
  replicas: [{ num: 0, submission: 0, status: 'running', metrics: { id: 'web-0-0', runtime: 'docker', timestamp: 1, cpu: { percent: 50, cores: 2 }, memory: { usedBytes: 2 * GB, limitBytes: 8 * GB }, gpus: [] } }],
};

describe('dstack metrics -w in a terminal', () => {
  it('waits visibly while no replica runs, then redraws with the figures and leaves the last frame', async () => {
    const out = fakeOut({ isTTY: true, columns: 100 });
    const view = mountMetricsWatch({ metrics: starting, stream: out, color: false });
    view.update(running);
    await view.stop();
    await view.stop();
    const text = stripAnsi(out.text());
    expect(text).toContain('Run web has no running replica (provisioning); waiting…');
    const last = text.slice(text.lastIndexOf('NAME'));
    expect(last).toMatch(/web\s+running\s+25%\s+2GB\/8GB\s+-/);
    expect(last).not.toContain('waiting');
  });
});
