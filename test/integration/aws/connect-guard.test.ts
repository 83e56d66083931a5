// The harness's own guarantees: nothing connects outside loopback and the namespace hosts, and no address moto
// invents survives the EC2 front.
import { createServer, connect, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installConnectGuard } from '../../helpers/aws/connect-guard.js';
import { rewriteAddresses, UNASSIGNED_ADDRESS } from '../../helpers/aws/ec2-xml.js';
import { loadTestHosts } from '../../helpers/test-hosts.js';

function tryConnect(host: string, port: number): Promise<'connected' | string> {
  return new Promise((resolve) => {
    try {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (e) => resolve(e.message));
    } catch (e) {
      resolve((e as Error).message);
    }
  });
}

describe('connect guard', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses and records a connection outside loopback and the allowed hosts; allows those', async () => {
    const guard = installConnectGuard();
    try {
      const host = loadTestHosts(1).hosts[0];
      guard.allow(host?.ip ?? '');
      expect(await tryConnect('127.0.0.1', port)).toBe('connected');
      expect(await tryConnect(host?.ip ?? '', host?.sshPort ?? 22)).toBe('connected');
      expect(await tryConnect('54.214.201.6', 22)).toMatch(/connect-guard: refused a connection to 54\.214\.201\.6:22/);
      await expect(fetch('http://ec2-54-214-201-6.compute-1.amazonaws.com/')).rejects.toThrow();
      expect(await tryConnect(UNASSIGNED_ADDRESS, 22)).toMatch(/refused/);
      expect(guard.refused()).toEqual(['54.214.201.6:22', 'ec2-54-214-201-6.compute-1.amazonaws.com:80', `${UNASSIGNED_ADDRESS}:22`]);
      expect(() => guard.expectNoForeignConnections()).toThrow(/54\.214\.201\.6:22/);
      expect(() => guard.expectNoForeignConnections()).not.toThrow();
    } finally {
      guard.uninstall();
    }
    expect(await tryConnect('127.0.0.1', port)).toBe('connected');
  });
});

describe('EC2 front address rewriting', () => {
  const moto =
    '<RunInstancesResponse><reservationId>r-1</reservationId><instancesSet>' +
    ['i-aaa', 'i-bbb']
      .map(
        (id, n) =>
          `<item><networkInterfaceSet><item><association><publicDnsName>ip-54-214-20${n}-1.ec2.internal</publicDnsName><publicIp>54.214.20${n}.1</publicIp></association>` +
          `<privateDnsName>ip-10-1-2-${n}.ec2.internal</privateDnsName><privateIpAddress>10.1.2.${n}</privateIpAddress><privateIpAddressesSet><item><privateIpAddress>10.1.2.${n}</privateIpAddress></item></privateIpAddressesSet></item></networkInterfaceSet>` +
          `<instanceId>${id}</instanceId><privateDnsName>ip-10-1-2-${n}.ec2.internal</privateDnsName><dnsName>ec2-54-214-20${n}-1.compute-1.amazonaws.com</dnsName><privateIpAddress>10.1.2.${n}</privateIpAddress><ipAddress>54.214.20${n}.1</ipAddress></item>`,
      )
      .join('') +
    '</instancesSet></RunInstancesResponse>';

  it('points every address and DNS name of each instance at its host, and anything unassigned at no host', () => {
    const out = rewriteAddresses(moto, (id) => (id === 'i-aaa' ? '10.77.0.11' : undefined));
    expect(out).not.toMatch(/54\.214|10\.1\.2|amazonaws|ec2\.internal/);
    const [aaa, bbb] = out.split('</ipAddress></item>');
    expect(aaa?.match(/10\.77\.0\.\d+/g)).toEqual(Array(9).fill('10.77.0.11'));
    expect(bbb?.match(/10\.77\.0\.\d+/g)).toEqual(Array(9).fill(UNASSIGNED_ADDRESS));
    expect(rewriteAddresses('<DescribeAddressesResponse><publicIp>3.3.3.3</publicIp></DescribeAddressesResponse>', () => '10.77.0.11')).toContain(`<publicIp>${UNASSIGNED_ADDRESS}</publicIp>`);
  });
});
