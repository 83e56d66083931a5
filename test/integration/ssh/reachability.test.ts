// A fleet host dropping off the network: with its link down, the SSH backend's keepalives notice the dead
// connection and report it unreachable; with the link back, it reconnects on its own, reports it reachable, and
// the agent answers again through the same dispatcher (nothing rebuilt). Needs root and `test-hosts.sh up 3`;
// takes dstack-h3's link down for a while and always restores it.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshBackend } from '../../../src/backends/ssh/index.js';
import { ANY_REQUIREMENTS as ANY } from '../../../src/core/runs/index.js';
import { holdTestHosts, loadTestHosts, type TestHost } from '../../helpers/test-hosts.js';
import { sshTestEnv, targetOf, waitUntil, type SshTestEnv } from './helpers.js';

let env: SshTestEnv;
let backend: SshBackend;
let host: TestHost;
const events: Array<{ instance: string; reachable: boolean; error?: string }> = [];
const link = (state: 'up' | 'down') => execFileSync('ip', ['link', 'set', host.veth, state]);

holdTestHosts();

beforeAll(async () => {
  host = loadTestHosts(3).hosts[2] as TestHost;
  env = await sshTestEnv(11_104);
  backend = env.backend({
    onReachability: (instance, reachable, error) => events.push({ instance, reachable, ...(error ? { error: error.message } : {}) }),
  });
  backend.setTargets([targetOf(host, 'reach-0')]);
});
afterAll(async () => {
  link('up');
  await backend.teardown(targetOf(host, 'reach-0')).catch(() => undefined);
  await env.cleanup();
});

describe('SSH host reachability', () => {
  it('reports a host whose link went down as unreachable, and reachable again once the link is back', async () => {
    await backend.provision(targetOf(host, 'reach-0'), () => {});
    const conn = await backend.ensureAgent('reach-0');
    const pid = (await conn.client.health()).pid;
    try {
      link('down');
      // Deadlines bound the waits (keepalive 5 s × 3, then backoff up to 30 s); they assert nothing about speed.
      await waitUntil('onReachability(false)', async () => events.find((e) => !e.reachable), 30_000);
      expect(events[0]).toMatchObject({ instance: 'reach-0', reachable: false });
      await expect(conn.client.health()).rejects.toMatchObject({ code: 'AGENT_UNREACHABLE' });
      // While the link reconnects, offers answer from the last known host info (no 10 s wait on a dead host).
      const offers = await Promise.race([backend.offers(ANY), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 5_000))]);
      expect(offers).not.toBe('hung');
      expect(offers).toMatchObject([{ instance: 'reach-0', availability: 'not available' }]);
    } finally {
      link('up');
    }
    await waitUntil('onReachability(true)', async () => events.find((e) => e.reachable), 90_000);
    expect(events.map((e) => e.reachable)).toEqual([false, true]);
    // Same AgentConnection, same dispatcher: the agent (still the same process) answers over the new connection.
    expect((await conn.client.health()).pid).toBe(pid);
  }, 180_000);
});
