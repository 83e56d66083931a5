// The reconciler resolves `${{ secrets.NAME }}` just before the agent gets a replica's spec: the agent's create
// request carries the values (env and registry_auth, what the agent pulls with), state keeps the references.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplicaSpecInput, ReplicaState } from '../../../src/core/model/agent-api.js';
import { resolveSecrets } from '../../../src/core/secrets/references.js';
import { emptyState, type RunRecord } from '../../../src/core/state/schema.js';
import { Reconciler } from '../../../src/daemon/reconcile/reconciler.js';
import { createJsonStateStore } from '../../../src/daemon/state/json-store.js';
import { MemoryRouteTable } from '../../../src/proxy/routing/route-table.js';
import { FakeAgent, FakeBackend, type FakeLink } from '../reconcile/fake-agent.js';
import { FakeScheduler } from '../reconcile/fake-scheduler.js';
import { run } from '../reconcile/fixtures.js';

const TOKEN = 'tok-7d1f0c2e9a';
const PASSWORD = 'reg-pw-51b8e4';

class RecordingAgent extends FakeAgent {
  readonly specs: ReplicaSpecInput[] = [];
  override async createReplica(spec: ReplicaSpecInput): Promise<ReplicaState> {
    this.specs.push(spec);
    return super.createReplica(spec);
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(runRecord: RunRecord, secrets: Map<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'secrets-start-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.json');
  const store = createJsonStateStore(file, { ...emptyState(), runs: [runRecord] });
  const routes = new MemoryRouteTable();
  cleanups.push(() => routes.close());
  const scheduler = new FakeScheduler(1_000);
  const backend = new FakeBackend(['local']);
  const agent = new RecordingAgent('local');
  backend.agents.set('local', agent);
  const reconciler = new Reconciler<FakeLink>({
    store,
    backend,
    routes,
    events: { notify: () => undefined },
    log: () => undefined,
    clock: scheduler.clock,
    scheduler,
    tickMs: 1_000,
    backoffBaseMs: 1_000,
    crashLoopLimit: 3,
    readTimeoutMs: 1_000,
    resolveSpec: (_run, spec) => resolveSecrets(spec, secrets),
  });
  cleanups.push(await reconciler.start());
  await scheduler.advance(0);
  await store.flush();
  return { store, agent, stateText: () => readFile(file, 'utf8') };
}

const withRefs = (): RunRecord => {
  const r = run({ desiredReplicas: 1 });
  return {
    ...r,
    specTemplate: {
      ...r.specTemplate,
      image: 'registry.example/private:1',
      env: { APP_TOKEN: '${{ secrets.app_token }}', PLAIN: 'visible' },
      registryAuth: { username: 'deploy', password: '${{ secrets.reg_pw }}' },
    },
  };
};

describe('a replica start with secret references', () => {
  it('sends the values to the agent (env and the registry credentials it pulls with) and keeps references in state', async () => {
    const w = await world(withRefs(), new Map([['app_token', TOKEN], ['reg_pw', PASSWORD]]));
    expect(w.agent.specs).toHaveLength(1);
    expect(w.agent.specs[0]).toMatchObject({ env: { APP_TOKEN: TOKEN, PLAIN: 'visible' }, registryAuth: { username: 'deploy', password: PASSWORD } });
    expect(w.store.run('r1')?.specTemplate).toMatchObject({ env: { APP_TOKEN: '${{ secrets.app_token }}' }, registryAuth: { password: '${{ secrets.reg_pw }}' } });
    const state = await w.stateText();
    expect(state).toContain('${{ secrets.app_token }}');
    expect(state).not.toContain(TOKEN);
    expect(state).not.toContain(PASSWORD);
  });

  it('a secret deleted after the apply fails the replica naming it, and the agent gets nothing', async () => {
    const w = await world(withRefs(), new Map([['app_token', TOKEN]]));
    expect(w.agent.specs).toEqual([]);
    const replica = w.store.run('r1')?.replicas[0];
    expect(replica).toMatchObject({ status: 'failed', reason: 'secret_not_found' });
    expect(replica?.error).toBe('Secret `reg_pw` is not set (used in `registry_auth.password`)');
    expect(await w.stateText()).not.toContain(TOKEN);
  });
});
