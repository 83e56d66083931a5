/**
 * Glue between the built CLI (cli-harness.ts) and the moto harness (test/helpers/aws) for the cloud e2e files:
 * a DSTACK_HOME whose config.yml names the aws backend before the first command (so the daemon the CLI spawns
 * starts with it), that daemon inheriting harness.env() (the CLI passes its env on), moto read directly rather than
 * through the front, and the namespace hosts checked and cleared after each test.
 *
 * The daemon is another process, so the in-process connect guard does not cover it: instead every address it
 * stores or shows must be a namespace host or loopback (moto invents public addresses; using one would reach out).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import Docker from 'dockerode';
import { request } from 'undici';
import { stringify } from 'yaml';
import type { FleetView } from '../../src/core/api.js';
import type { BackendConfig } from '../../src/core/home/backends-config.js';
import { newToken } from '../../src/core/home/config-file.js';
import { LABELS } from '../../src/core/model/agent-constants.js';
import type { AwsHarness } from '../helpers/aws/harness.js';
import { dockerOptions, type TestHost } from '../helpers/test-hosts.js';
import { newCli, type Cli } from './cli-harness.js';

export interface CloudCli extends Cli {
  /** stdout and stderr of every command run so far (searched for credentials). */
  outputs: string[];
  fleets(): Promise<FleetView[]>;
}

/** A CLI whose home has `projects: [{name: main, backends}]` and whose commands (and daemon) get `env`. */
export async function newCloudCli(backends: BackendConfig[], env: Record<string, string>): Promise<CloudCli> {
  const cli = await newCli();
  const config = {
    version: 1,
    default_project: 'main',
    user: 'e2e',
    token: newToken(),
    server: { host: '127.0.0.1', port: cli.port },
    projects: [{ name: 'main', tokens: [], backends }],
  };
  await writeFile(join(cli.home, 'config.yml'), stringify(config), { mode: 0o600, flag: 'wx' });
  // cli.run spreads this same object into every command's env, and the first command spawns the daemon with it.
  Object.assign(cli.env, env);
  const outputs: string[] = [];
  const run = cli.run;
  const cloud: CloudCli = Object.assign(cli, {
    outputs,
    run: ((args, opts) => {
      const p = run(args, opts);
      void p.then((r) => outputs.push(`$ dstack ${args.join(' ')}\n${String(r.stdout)}\n${String(r.stderr)}`));
      return p;
    }) as Cli['run'],
    async fleets() {
      const r = await cloud.run(['fleet', '-a', '--json']);
      if (r.exitCode !== 0) throw new Error(`dstack fleet --json failed: ${r.stderr}`);
      return (JSON.parse(r.stdout) as { fleets: FleetView[] }).fleets;
    },
  });
  return cloud;
}

export interface MotoInstance {
  id: string;
  state: string;
  stateReason?: string;
  tags: Record<string, string>;
}

/** Every instance moto holds (asked directly, not through the front: the truth behind dstack's back). */
export async function motoInstances(aws: AwsHarness): Promise<MotoInstance[]> {
  const { EC2Client, DescribeInstancesCommand } = await import('@aws-sdk/client-ec2');
  const ec2 = new EC2Client({ endpoint: aws.motoUrl, region: 'us-east-1', credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' } });
  try {
    const out = await ec2.send(new DescribeInstancesCommand({}));
    return (out.Reservations ?? []).flatMap((r) =>
      (r.Instances ?? []).map((i) => ({
        id: i.InstanceId ?? '',
        state: i.State?.Name ?? '',
        ...(i.StateReason?.Code ? { stateReason: i.StateReason.Code } : {}),
        tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
      })),
    );
  } finally {
    ec2.destroy();
  }
}

/** Terminates an instance in moto behind dstack's back (no spot state reason: "someone else terminated it"). */
export async function terminateInMoto(aws: AwsHarness, id: string): Promise<void> {
  const { EC2Client, TerminateInstancesCommand } = await import('@aws-sdk/client-ec2');
  const ec2 = new EC2Client({ endpoint: aws.motoUrl, region: 'us-east-1', credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' } });
  try {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  } finally {
    ec2.destroy();
  }
}

/** The RunInstances tags dstack sent, from the front's record of the request's form parameters. */
export function runInstancesTags(params: Record<string, string>): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    const m = /^(TagSpecification\.\d+\.Tag\.\d+)\.Key$/.exec(k);
    if (m) tags[v] = params[`${m[1]}.Value`] ?? '';
  }
  return tags;
}

const LOOPBACK = /^127\.\d+\.\d+\.\d+$/;
const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;

/** Addresses in `dstack fleet --json` and in state.json's instance records that are neither loopback nor a host. */
export async function foreignAddresses(cli: CloudCli, hosts: readonly TestHost[]): Promise<string[]> {
  const allowed = new Set(hosts.map((h) => h.ip));
  const seen = new Set<string>(JSON.stringify(await cli.fleets()).match(IPV4) ?? []);
  const state = JSON.parse(await readFile(join(cli.home, 'server/state.json'), 'utf8')) as {
    instances: Array<{ target?: { hostname?: string; internalIp?: string }; cloud?: { hostname?: string; internalIp?: string } }>;
  };
  for (const i of state.instances) {
    for (const a of [i.target?.hostname, i.target?.internalIp, i.cloud?.hostname, i.cloud?.internalIp]) if (a) seen.add(a);
  }
  return [...seen].filter((a) => !LOOPBACK.test(a) && !allowed.has(a));
}

/** Where credentials must never appear: every command's output, the daemon's logs, and state.json. */
export async function textsToSearch(cli: CloudCli): Promise<string[]> {
  const logsDir = join(cli.home, 'server/logs');
  const logs = await readdir(logsDir).catch(() => [] as string[]);
  const texts = [...cli.outputs, await readFile(join(cli.home, 'server/state.json'), 'utf8').catch(() => '')];
  for (const f of logs) texts.push(await readFile(join(logsDir, f), 'utf8').catch(() => ''));
  return texts;
}

/** The host's own directories (its $HOME is <dir of its docker socket>/home; the hosts share this filesystem). */
const hostDir = (h: TestHost) => dirname(h.dockerHost.replace(/^unix:\/\//, ''));

/** Pids of dstack-agent processes installed on `host` (under its $HOME/.dstack). */
export function agentPids(host: TestHost): number[] {
  const marker = `${hostDir(host)}/home/.dstack/`;
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(marker) && l.includes('dstack-agent'))
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

export async function runContainers(host: TestHost, runs: readonly string[], all = true): Promise<Docker.ContainerInfo[]> {
  const d = new Docker(dockerOptions(host.dockerHost));
  const found = await Promise.all(runs.map((run) => d.listContainers({ all, filters: { label: [`${LABELS.run}=${run}`] } })));
  return found.flat();
}

/**
 * What a terminated VM loses, done to the namespace host standing in for it: its agent (ended by pid) and the
 * test's containers. Also the after-test sweep, so the next file finds the hosts as test-hosts.sh left them.
 */
export async function powerOff(host: TestHost, runs: readonly string[], instanceId?: string): Promise<void> {
  // The front takes the key back only for terminations that pass through it; one done straight in moto must also
  // close SSH, or the daemon could keep reaching a "VM" that no longer exists.
  if (instanceId) dropKey(host, instanceId);
  // A VM that is gone also takes its SSH sessions with it: one left open would let the daemon restart the agent on
  // this host through it, and that agent would then hold the port of the next instance the host stands in for.
  for (const pid of sshSessionPids(host)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const pid of agentPids(host)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const d = new Docker(dockerOptions(host.dockerHost));
  for (const c of await runContainers(host, runs)) await d.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
}

/** The host sshd's session processes (children of its listener, whose pid is in the host's sshd.pid). */
function sshSessionPids(host: TestHost): number[] {
  const listener = readFileSync(`${hostDir(host)}/sshd.pid`, 'utf8').trim();
  try {
    const out = execFileSync('pgrep', ['-P', listener], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').filter((l) => l.trim() !== '').map(Number);
  } catch {
    // pgrep exits 1 when no session is open.
    return [];
  }
}

/** Removes the line the EC2 front added to the host's authorized_keys for `instanceId` (atomically: sshd reads it). */
function dropKey(host: TestHost, instanceId: string): void {
  const file = `${hostDir(host)}/authorized_keys`;
  const kept = readFileSync(file, 'utf8').split('\n').filter((l) => !l.endsWith(` ec2-front:${instanceId}`));
  const tmp = `${file}.cloud-e2e-${process.pid}`;
  writeFileSync(tmp, kept.join('\n'));
  renameSync(tmp, file);
}

/**
 * An instance created straight in moto, as another tool (or a daemon that died before storing its id) would leave
 * it: `tags` as given (none = not dstack's). The front does not see it, so no namespace host stands behind it.
 */
export async function launchInMoto(aws: AwsHarness, tags: Record<string, string> = {}): Promise<string> {
  const { EC2Client, RunInstancesCommand } = await import('@aws-sdk/client-ec2');
  const { FIXTURE_AMIS } = await import('../helpers/aws/moto.js');
  const ec2 = new EC2Client({ endpoint: aws.motoUrl, region: 'us-east-1', credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' } });
  try {
    const entries = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: FIXTURE_AMIS.cpu,
        InstanceType: 't3.micro',
        MinCount: 1,
        MaxCount: 1,
        ...(entries.length > 0 ? { TagSpecifications: [{ ResourceType: 'instance', Tags: entries }] } : {}),
      }),
    );
    const id = out.Instances?.[0]?.InstanceId;
    if (!id) throw new Error('moto RunInstances returned no instance');
    return id;
  } finally {
    ec2.destroy();
  }
}

/** Status codes of three requests to the service through the daemon's proxy. */
export async function answers(cli: Cli, run: string): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await request(`http://127.0.0.1:${cli.port}/proxy/services/main/${run}/`);
    await res.body.dump();
    codes.push(res.statusCode);
  }
  return codes;
}
