// A small HTTP server of our own in front of moto (test code; DESIGN.md §6 "Clouds"). The real SDK talks to it via
// AWS_ENDPOINT_URL_EC2 and it forwards to moto, except that it
//  - injects EC2 faults by Action / InstanceType / zone / region, in EC2's real XML error shape;
//  - answers DescribeCapacityReservations, which moto lacks: a FAKE, from reservations the test adds;
//  - REWRITES every address moto hands out to a network-namespace test host (one host per instance), because moto
//    invents public addresses and nothing here may connect outside loopback and 10.77.0.0/24;
//  - does cloud-init's job on a real VM: on RunInstances it appends the key pair's public key to that host's
//    authorized_keys (sshd there reads /run/dstack-test/hosts/hN/authorized_keys), and removes it on terminate;
//  - records every call (action, region, form parameters) for assertions.
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { TestHost } from '../test-hosts.js';
import { capacityReservationsXml, ec2ErrorXml, rewriteAddresses, rewriteStateReason, UNASSIGNED_ADDRESS, type CapacityReservation } from './ec2-xml.js';

export { UNASSIGNED_ADDRESS, type CapacityReservation };

export interface Ec2Fault {
  /** The EC2 action (`RunInstances`), or `*` for every one (expired credentials mid-run). */
  action: string;
  instanceType?: string;
  /** Matched against RunInstances' Placement.AvailabilityZone. */
  zone?: string;
  region?: string;
  /** true: spot requests only (InstanceMarketOptions.MarketType=spot); false: on-demand only. */
  spot?: boolean;
  code: string;
  message?: string;
  /** Default: 500 for EC2's Insufficient…Capacity server errors, 401 for AuthFailure, else 400. */
  status?: number;
  /** Requests it answers before it is spent; default every one. */
  times?: number;
}

export interface Ec2Call {
  action: string;
  region: string;
  /** The request's form parameters (`InstanceMarketOptions.SpotOptions.MaxPrice`…), as the SDK sent them. */
  params: Record<string, string>;
  status: number;
  /** The injected fault's code, or `fake` when the front answered itself. */
  injected?: string;
}

export interface Ec2Front {
  /** http://127.0.0.1:PORT: the value for AWS_ENDPOINT_URL_EC2. */
  url: string;
  calls: Ec2Call[];
  callsTo(action: string): Ec2Call[];
  fail(fault: Ec2Fault): void;
  /** From now on every request is refused with `code` (RequestExpired or AuthFailure), as after credentials expire. */
  expireCredentials(code?: 'RequestExpired' | 'AuthFailure'): void;
  clearFaults(): void;
  addCapacityReservation(reservation: CapacityReservation): void;
  /**
   * Holds the next request of `action` until `release()`: `reached` resolves once it arrived, so a test can act
   * (abort, kill a daemon) while the call is in flight, without timing.
   */
  pause(action: string): { reached: Promise<void>; release(): void };
  /**
   * A spot interruption behind dstack's back: moto terminates the instance, and from then on EC2 reports it with
   * state reason `Server.SpotInstanceTermination`, as AWS does.
   */
  interruptSpot(instanceId: string, region?: string): Promise<void>;
  /** The test host an instance's addresses point at (undefined when the pool was exhausted). */
  hostOf(instanceId: string): TestHost | undefined;
  /** Forgets calls, faults, reservations and host assignments, and takes back every key it added. */
  reset(): void;
  close(): Promise<void>;
}

export interface Ec2FrontOptions {
  motoUrl: string;
  /** The pool of namespace hosts instances are given, one each; beyond it addresses become UNASSIGNED_ADDRESS. */
  hosts: readonly TestHost[];
}

const SERVER_ERRORS = new Set(['InsufficientInstanceCapacity', 'InsufficientCapacity', 'InsufficientHostCapacity', 'InsufficientReservedInstanceCapacity', 'InternalError', 'Unavailable']);

export async function startEc2Front(options: Ec2FrontOptions): Promise<Ec2Front> {
  const calls: Ec2Call[] = [];
  let faults: Ec2Fault[] = [];
  let reservations: CapacityReservation[] = [];
  const assigned = new Map<string, TestHost>();
  const interrupted = new Set<string>();
  const pauses = new Map<string, { arrived: () => void; released: Promise<void> }>();
  /** instance id → [authorized_keys file, the line we appended]. */
  const addedKeys = new Map<string, [string, string]>();

  const takeKey = (instanceId: string) => {
    const added = addedKeys.get(instanceId);
    if (!added) return;
    addedKeys.delete(instanceId);
    const [file, line] = added;
    const kept = readFileSync(file, 'utf8').split('\n').filter((l) => l !== line);
    // Atomic: the host's sshd (serving other tests too) must never read a half-written file.
    const tmp = `${file}.ec2-front-${process.pid}`;
    writeFileSync(tmp, kept.join('\n'));
    renameSync(tmp, file);
  };
  const release = (instanceId: string) => {
    takeKey(instanceId);
    assigned.delete(instanceId);
  };
  const assign = (instanceId: string): TestHost | undefined => {
    const taken = new Set([...assigned.values()].map((h) => h.ip));
    const host = options.hosts.find((h) => !taken.has(h.ip));
    if (host) assigned.set(instanceId, host);
    return host;
  };

  const matching = (action: string, region: string, params: Record<string, string>): Ec2Fault | undefined => {
    const fault = faults.find(
      (f) =>
        (f.action === '*' || f.action === action) &&
        (f.instanceType === undefined || f.instanceType === params.InstanceType) &&
        (f.zone === undefined || f.zone === params['Placement.AvailabilityZone']) &&
        (f.region === undefined || f.region === region) &&
        (f.spot === undefined || f.spot === (params['InstanceMarketOptions.MarketType'] === 'spot')),
    );
    if (fault?.times !== undefined && --fault.times <= 0) faults = faults.filter((f) => f !== fault);
    return fault;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const params = Object.fromEntries(new URLSearchParams(req.url?.split('?')[1] ?? ''));
    Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    const action = params.Action ?? '';
    const region = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? 'us-east-1';
    const reply = (status: number, xml: string, injected?: string) => {
      calls.push({ action, region, params, status, ...(injected ? { injected } : {}) });
      res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' }).end(xml);
    };
    const pause = pauses.get(action);
    if (pause) {
      pauses.delete(action);
      pause.arrived();
      await pause.released;
    }
    const fault = matching(action, region, params);
    if (fault) {
      const status = fault.status ?? (SERVER_ERRORS.has(fault.code) ? 500 : fault.code === 'AuthFailure' ? 401 : 400);
      return reply(status, ec2ErrorXml(fault.code, fault.message ?? `${fault.code} (injected by the test's EC2 front)`), fault.code);
    }
    if (action === 'DescribeCapacityReservations') return reply(...capacityReservationsXml(reservations, region, params), 'fake');
    const upstream = await fetch(`${options.motoUrl}${req.url ?? '/'}`, {
      method: req.method ?? 'POST',
      headers: forwardHeaders(req),
      ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body }),
    });
    let xml = await upstream.text();
    if (upstream.ok && action === 'RunInstances') {
      for (const id of instanceIds(xml)) {
        const host = assign(id);
        if (host && params.KeyName) await authorize(id, host, params.KeyName, req);
      }
    }
    if (upstream.ok && action === 'TerminateInstances') {
      for (const [k, v] of Object.entries(params)) if (/^InstanceId\.\d+$/.test(k)) release(v);
    }
    xml = rewriteAddresses(xml, (id) => assigned.get(id)?.ip);
    for (const id of interrupted) xml = rewriteStateReason(xml, id, 'Server.SpotInstanceTermination', 'Server.SpotInstanceTermination: Spot instance termination');
    reply(upstream.status, xml);
  };

  const authorize = async (instanceId: string, host: TestHost, keyName: string, req: IncomingMessage) => {
    const query = new URLSearchParams({ Action: 'DescribeKeyPairs', Version: '2016-11-15', 'KeyName.1': keyName, IncludePublicKey: 'true' });
    const found = await fetch(`${options.motoUrl}/?${query.toString()}`, { headers: { authorization: req.headers.authorization ?? '' } });
    const material = /<publicKey>([^<]+)<\/publicKey>/.exec(await found.text())?.[1];
    if (!material) throw new Error(`ec2-front: moto has no public key for key pair ${keyName}`);
    const [type, blob] = material.trim().split(/\s+/);
    const line = `${type} ${blob} ec2-front:${instanceId}`;
    const file = `${dirname(host.dockerHost.replace(/^unix:\/\//, ''))}/authorized_keys`;
    const current = readFileSync(file, 'utf8');
    appendFileSync(file, `${current.endsWith('\n') || current === '' ? '' : '\n'}${line}\n`);
    addedKeys.set(instanceId, [file, line]);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      calls.push({ action: 'front-error', region: '', params: {}, status: 500 });
      res.writeHead(500, { 'content-type': 'text/xml' }).end(ec2ErrorXml('InternalError', `ec2-front: ${(e as Error).message}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    callsTo: (action) => calls.filter((c) => c.action === action),
    fail: (fault) => faults.push({ ...fault }),
    expireCredentials: (code = 'RequestExpired') => faults.unshift({ action: '*', code, message: code === 'RequestExpired' ? 'Request has expired.' : 'AWS was not able to validate the provided access credentials' }),
    clearFaults: () => (faults = []),
    addCapacityReservation: (r) => reservations.push(r),
    pause: (action) => {
      let arrived = () => {};
      let release = () => {};
      const reached = new Promise<void>((resolve) => (arrived = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      pauses.set(action, { arrived, released });
      return { reached, release };
    },
    interruptSpot: async (instanceId, region = 'us-east-1') => {
      const query = new URLSearchParams({ Action: 'TerminateInstances', Version: '2016-11-15', 'InstanceId.1': instanceId });
      const res = await fetch(`${options.motoUrl}/?${query.toString()}`, { headers: { authorization: `AWS4-HMAC-SHA256 Credential=ec2-front/20260101/${region}/ec2/aws4_request` } });
      if (!res.ok) throw new Error(`ec2-front: moto could not terminate ${instanceId}: HTTP ${res.status}`);
      interrupted.add(instanceId);
      release(instanceId);
    },
    hostOf: (id) => assigned.get(id),
    reset: () => {
      for (const id of [...assigned.keys()]) release(id);
      for (const p of pauses.values()) p.arrived();
      pauses.clear();
      interrupted.clear();
      calls.length = 0;
      faults = [];
      reservations = [];
    },
    close: async () => {
      for (const id of [...assigned.keys()]) release(id);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The SDK's signed headers pass through unchanged (moto reads the region from Authorization); hop-by-hop ones do not. */
function forwardHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || ['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'expect'].includes(k)) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function instanceIds(xml: string): string[] {
  return [...new Set([...xml.matchAll(/<instanceId>(i-[0-9a-z]+)<\/instanceId>/g)].map((m) => m[1] ?? ''))].filter(Boolean);
}
