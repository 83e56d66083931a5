/**
 * A local home's state as the embedded daemon writes it — server/state.json through the JSON store and
 * server/secrets.json through the file secret store — for the `dstack server migrate --from-json` tests.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FleetRecord, InstanceRecord, RunRecord, type State } from '../../src/core/state/schema.js';
import { openSecretFile, secretsFileIn } from '../../src/daemon/secrets/file-store.js';
import { createJsonStateStore } from '../../src/daemon/state/json-store.js';
import { serviceConfig } from './configs.js';

export interface WrittenSecret {
  project: string;
  name: string;
  value: string;
  createdAt: number;
  updatedAt: number;
}

export interface JsonHome {
  serverDir: string;
  stateFile: string;
  secretsFile: string;
  state: State;
  secrets: WrittenSecret[];
}

// Records made by their schemas, so they equal what a store parses back.
export const instanceRecord = (name: string, over: Partial<InstanceRecord> = {}): InstanceRecord =>
  InstanceRecord.parse({ name, backend: 'ssh', status: 'idle', createdAt: 5, ...over });
export const fleetRecord = (project: string, name: string): FleetRecord =>
  FleetRecord.parse({ name, project, status: 'active', createdAt: 3, configRaw: { type: 'fleet', name } });
export const runRecord = (id: string, name: string, project = 'main'): RunRecord =>
  RunRecord.parse({
    id, name, project, user: 'admin', configRaw: { type: 'service', name }, config: serviceConfig({ name }),
    settings: { replicas: { min: 1, max: 1 }, autoscaling: false, probes: [], tcpCheck: true, stopDurationSeconds: 1,
      creationPolicy: 'reuse-or-create', auth: true, stripPrefix: true, rateLimits: [] },
    specTemplate: { runName: name, image: 'img', port: 8000 },
    status: 'running', submittedAt: 10, deployment: 0, desiredReplicas: 1, replicas: [],
  });

/** Writes 2 runs, 2 instances, 1 fleet and 3 secrets (two projects) under `home`/server; returns what it wrote. */
export async function writeJsonHome(home: string, secretValues: [string, string, string]): Promise<JsonHome> {
  const serverDir = join(home, 'server');
  await mkdir(serverDir, { recursive: true });
  const stateFile = join(serverDir, 'state.json');
  const store = createJsonStateStore(stateFile, undefined, (e) => {
    throw e;
  });
  const runs = [runRecord('run-1', 'svc-a'), runRecord('run-2', 'svc-b', 'team')];
  const instances = [instanceRecord('host-1', { fleet: 'gpus' }), instanceRecord('host-2', { status: 'busy', fleet: 'gpus' })];
  const fleets = [fleetRecord('main', 'gpus')];
  store.transaction((tx) => {
    for (const r of runs) tx.putRun(r);
    for (const i of instances) tx.putInstance(i);
    for (const f of fleets) tx.putFleet(f);
  });
  await store.flush();
  let now = 1_700_000_000_000;
  const secretStore = await openSecretFile(secretsFileIn(serverDir), () => (now += 1000));
  const wanted: Array<[string, string, string]> = [
    ['main', 'hf_token', secretValues[0]],
    ['main', 'db_password', secretValues[1]],
    ['team', 'api_key', secretValues[2]],
  ];
  const secrets: WrittenSecret[] = [];
  for (const [project, name, value] of wanted) {
    const { secret } = await secretStore.set(project, name, value);
    secrets.push({ project, name, value, createdAt: secret.createdAt, updatedAt: secret.updatedAt });
  }
  return { serverDir, stateFile, secretsFile: secretsFileIn(serverDir), state: { version: 1, runs, instances, fleets, users: [], projects: [] }, secrets };
}
