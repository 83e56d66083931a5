// The GCE fake itself, driven by the real @google-cloud/compute client and google-auth-library: if these pass, a
// backend written against the real API sees here what it would see in GCE (shapes, errors, operations).
import { generateKeyPairSync, createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AcceleratorTypesClient, FirewallsClient, GlobalOperationsClient, ImagesClient, InstancesClient, MachineTypesClient, ZoneOperationsClient } from '@google-cloud/compute';
import { JWT, OAuth2Client } from 'google-auth-library';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { useConnectGuard } from '../../helpers/aws/connect-guard.js';
import { startGcpFake, type GcpFake } from '../../helpers/gcp-fake/server.js';

useConnectGuard();
const ADDRESSES = ['10.77.0.10', '10.77.0.11', '10.77.0.12'];
const ZONE = 'us-central1-a';
let fake: GcpFake;
const fakes: GcpFake[] = [];

beforeEach(async () => {
  fake = await startGcpFake({ project: 'p1', addresses: ADDRESSES });
  fakes.push(fake);
});
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

function staticAuth(): OAuth2Client {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: fake.staticToken, expiry_date: Date.now() + 3600_000 });
  return auth;
}
const opts = (authClient: OAuth2Client | JWT = staticAuth()) => ({ ...fake.clientOptions, authClient });

/** An insert body as a GCE backend builds it (g2-standard-4 = 1x L4 built in). */
function instanceResource(name: string, o: { spot?: boolean; labels?: Record<string, string>; machineType?: string } = {}): Record<string, unknown> {
  return {
    name,
    machineType: `zones/${ZONE}/machineTypes/${o.machineType ?? 'g2-standard-4'}`,
    labels: o.labels ?? { dstack_project: 'main', dstack_fleet: 'gpu' },
    tags: { items: ['dstack-ssh'] },
    metadata: { items: [{ key: 'ssh-keys', value: 'ubuntu:ssh-ed25519 AAAAC3Nz dstack' }] },
    scheduling: o.spot ? { provisioningModel: 'SPOT', instanceTerminationAction: 'STOP', onHostMaintenance: 'TERMINATE', automaticRestart: false } : { onHostMaintenance: 'TERMINATE' },
    disks: [{ boot: true, autoDelete: true, initializeParams: { diskSizeGb: '100', sourceImage: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts' } }],
    networkInterfaces: [{ network: 'global/networks/default', accessConfigs: [{ type: 'ONE_TO_ONE_NAT', name: 'External NAT' }] }],
  };
}

/** Waits on a zone operation the way Google's samples do: `wait` until DONE. */
async function waitZoneOp(name: string, authClient?: OAuth2Client): Promise<Record<string, unknown>> {
  const ops = new ZoneOperationsClient(opts(authClient));
  for (;;) {
    const [op] = await ops.wait({ project: fake.project, zone: ZONE, operation: name });
    if (op.status === 'DONE') return op as unknown as Record<string, unknown>;
  }
}

async function insert(client: InstancesClient, resource: Record<string, unknown>): Promise<Record<string, unknown>> {
  const [lro] = await client.insert({ project: fake.project, zone: ZONE, instanceResource: resource });
  return waitZoneOp(String((lro.latestResponse as { name: string }).name));
}

async function untilRunning(client: InstancesClient, name: string): Promise<Record<string, unknown>> {
  for (;;) {
    const [vm] = await client.get({ project: fake.project, zone: ZONE, instance: name });
    if (vm.status === 'RUNNING') return vm as unknown as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const rejection = (p: Promise<unknown>): Promise<{ code?: number; message: string }> => p.then(() => { throw new Error('expected a rejection'); }, (e: unknown) => e as { code?: number; message: string });

describe('GCE fake: credentials', () => {
  it('accepts the self-signed JWT google-auth-library makes from the key file, verified with the public key', async () => {
    const key = JSON.parse(readFileSync(fake.credentialsFile, 'utf8')) as Record<string, string>;
    const jwt = new JWT({ email: key.client_email, key: key.private_key, scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
    // A property, not a constructor option; without it the library posts to oauth2.googleapis.com instead.
    jwt.useJWTAccessWithScope = true;
    const client = new InstancesClient(opts(jwt));
    const [items] = await client.list({ project: fake.project, zone: ZONE });
    expect(items).toEqual([]);
    expect(fake.requestsTo('GET', `/zones/${ZONE}/instances`).map((r) => [r.status, r.bearer])).toEqual([[200, 'self-signed-jwt']]);
    expect(key).toMatchObject({ type: 'service_account', token_uri: `${fake.endpoint}/token`, client_email: fake.clientEmail });
  });

  it('grants an access token at token_uri for a JWT-bearer assertion, and refuses one signed by another key', async () => {
    const key = JSON.parse(readFileSync(fake.credentialsFile, 'utf8')) as Record<string, string>;
    const jwt = new JWT({ email: key.client_email, key: key.private_key, scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
    // gtoken posts to the fixed oauth2.googleapis.com URL, whatever token_uri says: send it to the key's token_uri.
    jwt.transporter.interceptors.request.add({
      resolved: async (config) => (String(config.url).startsWith('https://oauth2.googleapis.com/token') ? { ...config, url: new URL(String(key.token_uri)) } : config),
    });
    const [vms] = await new InstancesClient(opts(jwt)).list({ project: fake.project, zone: ZONE });
    expect(vms).toEqual([]);
    expect(fake.requestsTo('POST', '/token').map((r) => r.status)).toEqual([200]);
    expect(fake.requestsTo('GET', '/instances').map((r) => r.bearer)).toEqual(['oauth']);

    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const part = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iss: key.client_email, aud: key.token_uri, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 })}`;
    const forged = `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(other).toString('base64url')}`;
    const res = await fetch(String(key.token_uri), { method: 'POST', body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: forged }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('answers 401 UNAUTHENTICATED in Google\'s JSON shape once the tokens expire', async () => {
    const client = new InstancesClient(opts());
    await client.list({ project: fake.project, zone: ZONE });
    fake.expireTokens();
    const err = await rejection(client.list({ project: fake.project, zone: ZONE }));
    expect(err.code).toBe(401); // the REST transport keeps the HTTP status as the code
    const res = await fetch(`${fake.endpoint}/compute/v1/projects/p1/zones/${ZONE}/instances`, { headers: { authorization: `Bearer ${fake.staticToken}` } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED', errors: [{ reason: 'authError' }] } });
  });
});

describe('GCE fake: instances', () => {
  it('inserts, waits on the zone operation, and reports the instance RUNNING with the pool address and the request\'s fields', async () => {
    const client = new InstancesClient(opts());
    const op = await insert(client, instanceResource('vm-1', { spot: true }));
    expect(op).toMatchObject({ status: 'DONE', operationType: 'insert' });
    expect(op.error).toBeFalsy();
    const vm = await untilRunning(client, 'vm-1');
    expect(vm).toMatchObject({
      name: 'vm-1',
      machineType: `https://www.googleapis.com/compute/v1/projects/p1/zones/${ZONE}/machineTypes/g2-standard-4`,
      labels: { dstack_project: 'main', dstack_fleet: 'gpu' },
      tags: { items: ['dstack-ssh'] },
      scheduling: { provisioningModel: 'SPOT', instanceTerminationAction: 'STOP', onHostMaintenance: 'TERMINATE' },
      guestAccelerators: [{ acceleratorType: expect.stringMatching(/acceleratorTypes\/nvidia-l4$/), acceleratorCount: 1 }],
      networkInterfaces: [{ networkIP: '10.77.0.10', accessConfigs: [{ natIP: '10.77.0.10' }] }],
      disks: [{ boot: true, diskSizeGb: '100' }],
      metadata: { items: [{ key: 'ssh-keys', value: 'ubuntu:ssh-ed25519 AAAAC3Nz dstack' }] },
    });
    expect(fake.requestsTo('POST', `/zones/${ZONE}/instances`)[0]?.body).toMatchObject({ scheduling: { provisioningModel: 'SPOT' } });
    expect(fake.requests.filter((r) => r.unknown)).toEqual([]);
  });

  it('moves an instance PROVISIONING → STAGING → RUNNING on the configured delays', async () => {
    const client = new InstancesClient(opts());
    fake.setDelays({ provisioningMs: 3_600_000 });
    await insert(client, instanceResource('vm-slow'));
    const status = async (): Promise<string | null | undefined> => (await client.get({ project: fake.project, zone: ZONE, instance: 'vm-slow' }))[0].status;
    expect(await status()).toBe('PROVISIONING');
    fake.setDelays({ provisioningMs: 0, stagingMs: 3_600_000 });
    expect(await status()).toBe('STAGING');
    fake.setDelays({ stagingMs: 0 });
    expect(await status()).toBe('RUNNING');
  });

  it('lists by label filter, per zone and aggregated, and deletes through an operation', async () => {
    const client = new InstancesClient(opts());
    await insert(client, instanceResource('vm-a', { labels: { dstack_fleet: 'a' } }));
    await insert(client, instanceResource('vm-b', { labels: { dstack_fleet: 'b' } }));
    const [inZone] = await client.list({ project: fake.project, zone: ZONE, filter: 'labels.dstack_fleet = "a"' });
    expect(inZone.map((i) => i.name)).toEqual(['vm-a']);
    expect(fake.requestsTo('GET', `/zones/${ZONE}/instances`).at(-1)?.query.filter).toBe('labels.dstack_fleet = "a"');
    const found: string[] = [];
    for await (const [scope, scoped] of client.aggregatedListAsync({ project: fake.project, filter: 'labels.dstack_fleet=b' })) {
      for (const i of scoped.instances ?? []) found.push(`${scope}/${i.name}`);
    }
    expect(found).toEqual([`zones/${ZONE}/vm-b`]);
    const [del] = await client.delete({ project: fake.project, zone: ZONE, instance: 'vm-a' });
    await waitZoneOp(String((del.latestResponse as { name: string }).name));
    expect(fake.instances().map((i) => i.name)).toEqual(['vm-b']);
    expect((await rejection(client.get({ project: fake.project, zone: ZONE, instance: 'vm-a' }))).code).toBe(404);
  });

  it('ends the insert operation DONE with ZONE_RESOURCE_POOL_EXHAUSTED in a failed zone and creates nothing', async () => {
    fake.failZone(ZONE);
    const op = await insert(new InstancesClient(opts()), instanceResource('vm-x'));
    expect(op).toMatchObject({ status: 'DONE', httpErrorStatusCode: 503, error: { errors: [{ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', message: expect.stringContaining(`zones/${ZONE}`) }] } });
    expect(fake.instances()).toEqual([]);
  });

  it('refuses an insert over quota with HTTP 403 quotaExceeded, or as the operation\'s QUOTA_EXCEEDED', async () => {
    const client = new InstancesClient(opts());
    fake.quotaExceeded(true);
    const err = await rejection(client.insert({ project: fake.project, zone: ZONE, instanceResource: instanceResource('vm-q') }));
    expect(err.code).toBe(403);
    // The REST transport raises a GaxiosError whose message is the response body: the reason is parsed, not guessed.
    expect(JSON.parse(err.message)).toMatchObject({ error: { code: 403, message: expect.stringContaining("Quota 'GPUS_ALL_REGIONS' exceeded"), errors: [{ domain: 'usageLimits', reason: 'quotaExceeded' }] } });
    expect(fake.requestsTo('POST', '/instances')[0]?.status).toBe(403);
    fake.quotaExceeded(true, { via: 'operation', metric: 'NVIDIA_L4_GPUS' });
    const op = await insert(client, instanceResource('vm-q'));
    expect(op).toMatchObject({ httpErrorStatusCode: 403, error: { errors: [{ code: 'QUOTA_EXCEEDED' }] } });
    expect(fake.instances()).toEqual([]);
  });

  it('preempts a spot instance to TERMINATED with a compute.instances.preempted operation, and loses instances deleted behind the back', async () => {
    const client = new InstancesClient(opts());
    await insert(client, instanceResource('spot-1', { spot: true }));
    await insert(client, instanceResource('od-1'));
    fake.preempt('spot-1');
    const [vm] = await client.get({ project: fake.project, zone: ZONE, instance: 'spot-1' });
    expect(vm.status).toBe('TERMINATED');
    const [ops] = await new ZoneOperationsClient(opts()).list({ project: fake.project, zone: ZONE, filter: 'operationType="compute.instances.preempted"' });
    expect(ops.map((o) => o.targetLink?.split('/').pop())).toEqual(['spot-1']);
    expect(() => fake.preempt('od-1')).toThrow(/not a spot instance/);
    await insert(client, { ...instanceResource('spot-2', { spot: true }), scheduling: { provisioningModel: 'SPOT', instanceTerminationAction: 'DELETE', onHostMaintenance: 'TERMINATE' } });
    fake.preempt('spot-2');
    expect(fake.instances().map((i) => i.name)).not.toContain('spot-2');
    fake.deleteBehindBack('od-1');
    expect((await rejection(client.get({ project: fake.project, zone: ZONE, instance: 'od-1' }))).code).toBe(404);
  });

  it('rejects GPUs with live migration and bad label values with 400, as GCE does', async () => {
    const client = new InstancesClient(opts());
    const migrate = { ...instanceResource('vm-m'), scheduling: { onHostMaintenance: 'MIGRATE' } };
    expect((await rejection(client.insert({ project: fake.project, zone: ZONE, instanceResource: migrate }))).code).toBe(400);
    const badLabel = instanceResource('vm-l', { labels: { Fleet: 'A' } });
    expect((await rejection(client.insert({ project: fake.project, zone: ZONE, instanceResource: badLabel }))).code).toBe(400);
  });
});

describe('GCE fake: firewalls, catalog, unknown paths', () => {
  it('answers 404 for a missing firewall, inserts it through a global operation, and 409 for a second insert', async () => {
    const fw = new FirewallsClient(opts());
    expect((await rejection(fw.get({ project: fake.project, firewall: 'dstack-ssh' }))).code).toBe(404);
    const firewallResource = { name: 'dstack-ssh', targetTags: ['dstack-ssh'], sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['22'] }] };
    const [lro] = await fw.insert({ project: fake.project, firewallResource });
    const [op] = await new GlobalOperationsClient(opts()).wait({ project: fake.project, operation: String((lro.latestResponse as { name: string }).name) });
    expect(op.status).toBe('DONE');
    const [got] = await fw.get({ project: fake.project, firewall: 'dstack-ssh' });
    expect(got).toMatchObject({ targetTags: ['dstack-ssh'], allowed: [{ IPProtocol: 'tcp', ports: ['22'] }] });
    expect((await rejection(fw.insert({ project: fake.project, firewallResource }))).code).toBe(409);
  });

  it('serves images by family, machine types and accelerator types', async () => {
    const [image] = await new ImagesClient(opts()).getFromFamily({ project: 'ubuntu-os-cloud', family: 'ubuntu-2204-lts' });
    expect(image.selfLink).toBe('https://www.googleapis.com/compute/v1/projects/ubuntu-os-cloud/global/images/ubuntu-2204-jammy-v20240927');
    const [a2] = await new MachineTypesClient(opts()).get({ project: fake.project, zone: ZONE, machineType: 'a2-highgpu-1g' });
    expect(a2).toMatchObject({ guestCpus: 12, accelerators: [{ guestAcceleratorType: 'nvidia-tesla-a100', guestAcceleratorCount: 1 }] });
    const [accs] = await new AcceleratorTypesClient(opts()).list({ project: fake.project, zone: ZONE });
    expect(accs.map((a) => a.name)).toContain('nvidia-tesla-t4');
  });

  it('answers an unknown path with a 404 naming the method and path, and logs it', async () => {
    const res = await fetch(`${fake.endpoint}/compute/v1/projects/p1/zones/${ZONE}/instances/vm-1/stop`, { method: 'POST', headers: { authorization: `Bearer ${fake.staticToken}` } });
    expect(res.status).toBe(404);
    expect(JSON.stringify(await res.json())).toContain(`POST /compute/v1/projects/p1/zones/${ZONE}/instances/vm-1/stop`);
    expect(fake.requests.filter((r) => r.unknown).map((r) => r.path)).toEqual([`/compute/v1/projects/p1/zones/${ZONE}/instances/vm-1/stop`]);
  });
});
