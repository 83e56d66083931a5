// Bench section `cloud-gcp` (issue 16): the `cloud` section's rows with GCP as the cloud — apply-to-ready of a service
// on a Compute Engine fake "VM" (a backend fleet `nodes: 0..1`: instances.insert per sample through the real
// @google-cloud/compute client in the in-process daemon, DSTACK_GCP_ENDPOINT pointing at test/helpers/gcp-fake)
// against the same service on an SSH fleet host from nothing, interleaved on the same namespace host (the fake's
// only address). A guest-agent loop here does GCE's job, as test/e2e/cloud-gcp.test.ts does: the `ssh-keys`
// metadata line of the running instance goes into the host's authorized_keys, and out once the instance is gone.
// Needs root, `scripts/test-hosts.sh up 1` and `npm run build:binary`. Standalone: `node scripts/bench/cloud-gcp.mjs [--runs N]`.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cloudBench, loadHarness, standalone } from './cloud.mjs';

export const name = 'cloud-gcp';

const keysFile = (host) => `${dirname(host.dockerHost.replace(/^unix:\/\//, ''))}/authorized_keys`;

function rewrite(file, edit) {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const tmp = `${file}.bench-gcp-${process.pid}`;
  writeFileSync(tmp, `${edit(lines).join('\n')}\n`);
  renameSync(tmp, file);
}

/** GCE's guest agent for the fake's instances on `hosts`: returns `stop()`, which also takes back every key it added. */
function guestAgent(fake, hosts) {
  /** instance name → [authorized_keys file, the line added for it]. */
  const authorized = new Map();
  const sync = () => {
    const live = new Map(fake.instances().filter((i) => i.status === 'RUNNING').map((i) => [String(i.name), i]));
    for (const [name, [file, line]] of authorized) {
      if (live.has(name)) continue;
      rewrite(file, (lines) => lines.filter((l) => l !== line));
      authorized.delete(name);
    }
    for (const [name, instance] of live) {
      if (authorized.has(name)) continue;
      const host = hosts.find((h) => h.ip === instance.networkInterfaces?.[0]?.networkIP);
      const sshKeys = instance.metadata?.items?.find((it) => it.key === 'ssh-keys')?.value ?? '';
      const [type, blob] = sshKeys.split('\n')[0].replace(/^[^:]+:/, '').trim().split(/\s+/);
      if (!host || !type || !blob) continue;
      const line = `${type} ${blob} gcp-guest-agent:${name}`;
      rewrite(keysFile(host), (lines) => [...lines, line]);
      authorized.set(name, [keysFile(host), line]);
    }
  };
  const timer = setInterval(sync, 100);
  return () => {
    clearInterval(timer);
    for (const [file, line] of authorized.values()) rewrite(file, (lines) => lines.filter((l) => l !== line));
    authorized.clear();
  };
}

const gcp = {
  section: name,
  issue: 16,
  vm: 'GCP-fake VM',
  fleet: { backends: ['gcp'], instance_types: ['e2-standard-2'] },
  async start({ host }) {
    const { startGcpFake } = await loadHarness('cloud-gcp-fake', ["export { startGcpFake } from './test/helpers/gcp-fake/server.ts';"]);
    // One address in the pool: every VM is this host, as the SSH reference is.
    const fake = await startGcpFake({ addresses: [host.ip] });
    const stopGuestAgent = guestAgent(fake, [host]);
    return {
      backend: {
        type: 'gcp', project_id: fake.project, creds: { type: 'service_account', filename: fake.credentialsFile }, regions: ['us-central1'], public_ips: true,
        // The namespace hosts' sshd lets root in.
        os_images: { cpu: { family: 'ubuntu-2204-lts', project: 'ubuntu-os-cloud', user: 'root' } },
      },
      env: { DSTACK_GCP_ENDPOINT: fake.endpoint },
      createdNote: () => `${fake.requestsTo('POST', /\/instances$/).filter((r) => r.status === 200).length} instances created in the Compute Engine fake.`,
      close: async () => {
        stopGuestAgent();
        await fake.close();
      },
    };
  },
};

export async function run(ctx = {}) {
  return cloudBench(ctx, gcp);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await standalone({ run });
