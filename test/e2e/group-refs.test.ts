/**
 * `${{ groups[i].replicas[j].IP_ADDRESS }}` in a service's commands (issue 14) with the built CLI on the test dockerd:
 * a replica that names another group's replica starts once that one runs, with its container address filled in (the
 * address its own container reaches the other at), and a reference beyond the service's groups is refused at apply.
 * Needs `npm run build` and the test dockerd (`scripts/test-hosts.sh up 1`).
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, eventually, newCli, requireDocker, uniqueName, type Cli } from './cli-harness.js';

const SVC = uniqueName('e2e-grpref');
let cli: Cli;

const yaml = (peerRef: string) => `type: service
name: ${SVC}
image: dstack-test/node:latest
env:
  - PORT=8000
port: 8000
auth: false
stop_duration: 1s
groups:
  - name: head
    replicas: 1
    commands:
      - ECHO_NAME=head node /srv/http-echo.mjs
  - name: peers
    replicas: 1
    commands:
      - PEER=\${{ ${peerRef} }} ECHO_NAME=peer node /srv/http-echo.mjs
`;

beforeAll(async () => {
  await requireDocker();
  cli = await newCli();
});

afterAll(async () => {
  await cli?.cleanup([SVC]);
});

describe('${{ groups[i].replicas[j].IP_ADDRESS }} in commands', () => {
  it('refuses a reference beyond the groups at apply, naming it', async () => {
    const r = await cli.run(['apply', '-f', await cli.write('bad.dstack.yml', yaml('groups[2].replicas[0].IP_ADDRESS')), '-y', '-d']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('Illegal reference name: groups[2].replicas[0].IP_ADDRESS');
    expect((await cli.ps()).find((x) => x.name === SVC)).toBeUndefined();
  });

  it('fills in the address of the named replica once it runs', async () => {
    const applied = await cli.run(['apply', '-f', await cli.write('ok.dstack.yml', yaml('groups[0].replicas[0].IP_ADDRESS')), '-y', '-d']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    // The proxy spreads requests over both groups: ask until the peer answers with its environment.
    const env = await eventually('the peer replica answering', async () => {
      const r = await request(`http://127.0.0.1:${cli.port}/proxy/services/main/${SVC}/env`);
      const body = (await r.body.json()) as Record<string, string>;
      return r.statusCode === 200 && body.ECHO_NAME === 'peer' ? body : undefined;
    }, 120_000);
    const containers = await docker().listContainers({ filters: { label: [`ai.dstack.run=${SVC}`] } });
    const addresses = await Promise.all(containers.map(async (c) => {
      const info = await docker().getContainer(c.Id).inspect();
      return { name: info.Config.Env.find((e) => e.startsWith('ECHO_NAME=')) ?? info.Config.Cmd?.join(' ') ?? '', ip: Object.values(info.NetworkSettings.Networks)[0]?.IPAddress };
    }));
    const head = containers.length === 2 ? addresses.find((a) => !a.name.includes('peer')) : undefined;
    expect(head?.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(env.PEER).toBe(head!.ip);
  });
});
