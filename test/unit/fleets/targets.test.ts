// sshTargets (paths, jump hosts, names), diffHosts (stable names on re-apply) and resolveBlocks.
import { describe, expect, test } from 'vitest';
import { parseConfigText } from '../../../src/core/config/load.js';
import { UserError } from '../../../src/core/errors.js';
import { diffHosts, hostKey, resolveBlocks, sshTargets, type SshTarget } from '../../../src/core/fleets/index.js';
import type { FleetConfig } from '../../../src/core/model/index.js';

const fleet = (text: string) => parseConfigText(text, 'f.yml').config as FleetConfig;
const HOME = '/home/ann';
const DIR = '/work/project/fleets';
const targets = (text: string, name = 'my-fleet') => sshTargets(name, fleet(text), HOME, DIR);
const hostsYaml = (hosts: string[]) => `type: fleet
ssh_config:
  user: root
  identity_file: ~/.ssh/id_ed25519
  hosts: [${hosts.join(', ')}]
`;

describe('sshTargets', () => {
  test('one target per host, named <fleet>-<index> from 0, per-host settings and ~ expanded', () => {
    const t = targets(`type: fleet
blocks: auto
ssh_config:
  user: ubuntu
  identity_file: ~/.ssh/id_rsa
  hosts:
    - 10.77.0.11
    - hostname: 10.77.0.12
      port: 2222
      user: root
      identity_file: keys/h2
      blocks: 2
`);
    expect(t).toEqual([
      { instance: 'my-fleet-0', fleet: 'my-fleet', hostname: '10.77.0.11', port: 22, user: 'ubuntu', identityFile: '/home/ann/.ssh/id_rsa', blocks: 'auto' },
      { instance: 'my-fleet-1', fleet: 'my-fleet', hostname: '10.77.0.12', port: 2222, user: 'root', identityFile: '/work/project/fleets/keys/h2', blocks: 2 },
    ]);
  });

  test('absolute and parent-relative key paths; a jump host defaults to port 22 and the host user and key', () => {
    const [t] = targets(`type: fleet
ssh_config:
  user: root
  identity_file: ../keys/id
  proxy_jump: {hostname: head.example.com}
  hosts:
    - hostname: 10.0.0.5
      internal_ip: 10.0.0.5
`);
    expect(t?.identityFile).toBe('/work/project/keys/id');
    expect(t?.proxyJump).toEqual({ hostname: 'head.example.com', port: 22, user: 'root', identityFile: '/work/project/keys/id' });
    expect(t?.internalIp).toBe('10.0.0.5');
    const [j] = targets(`type: fleet
ssh_config:
  user: root
  identity_file: /keys/id
  proxy_jump: {hostname: head, port: 2200, user: jump, identity_file: '~'}
  hosts: [h]
`);
    expect(j).toMatchObject({ identityFile: '/keys/id', proxyJump: { hostname: 'head', port: 2200, user: 'jump', identityFile: HOME } });
  });

  test('a key in another user\'s home is refused, naming the fleet, host and path', () => {
    const err = (() => {
      try {
        targets(hostsYaml(['h1']).replace('~/.ssh/id_ed25519', '~bob/.ssh/id'));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: 'FLEET_IDENTITY_FILE', message: 'fleet `my-fleet`: identity_file `~bob/.ssh/id` of host `h1` uses another user\'s home' });
  });

  test('the same host twice is refused', () => {
    expect(() => targets(hostsYaml(['h1', 'h2', 'h1']))).toThrow('fleet `my-fleet`: host `root@h1:22` is listed twice (ssh_config.hosts[0] and [2])');
  });

  test('a cloud fleet has no SSH targets', () => {
    expect(() => targets('type: fleet\nnodes: 2\n', 'cloud')).toThrow('fleet `cloud` has no `ssh_config`, so it has no SSH hosts');
  });
});

describe('diffHosts', () => {
  const names = (ts: readonly SshTarget[]) => ts.map((t) => `${t.instance}=${t.hostname}`);

  test('re-applying the same hosts keeps everything', () => {
    const current = targets(hostsYaml(['h1', 'h2']));
    expect(diffHosts(current, targets(hostsYaml(['h1', 'h2'])))).toEqual({ add: [], keep: current, remove: [] });
  });

  test('removing a host keeps the others\' names even though their position moved', () => {
    const d = diffHosts(targets(hostsYaml(['h1', 'h2', 'h3'])), targets(hostsYaml(['h1', 'h3'])));
    expect(names(d.keep)).toEqual(['my-fleet-0=h1', 'my-fleet-2=h3']);
    expect(names(d.remove)).toEqual(['my-fleet-1=h2']);
    expect(d.add).toEqual([]);
  });

  test('an added host gets the lowest index no current instance holds, not a terminating host\'s', () => {
    const d = diffHosts(targets(hostsYaml(['h1', 'h2', 'h3'])), targets(hostsYaml(['h1', 'h4', 'h3', 'h5'])));
    expect(names(d.remove)).toEqual(['my-fleet-1=h2']);
    expect(names(d.keep)).toEqual(['my-fleet-0=h1', 'my-fleet-2=h3']);
    expect(names(d.add)).toEqual(['my-fleet-3=h4', 'my-fleet-4=h5']);
  });

  test('once a removed host is gone its index is free again', () => {
    const current = [...targets(hostsYaml(['h1', 'h2', 'h3']))].filter((t) => t.hostname !== 'h2');
    expect(names(diffHosts(current, targets(hostsYaml(['h1', 'h3', 'h9']))).add)).toEqual(['my-fleet-1=h9']);
  });

  test('a host is the same host by user@hostname:port; kept hosts carry the new settings', () => {
    const current = targets(hostsYaml(['h1', 'h2']));
    const next = targets(hostsYaml(['h2', '{hostname: h1, port: 2222}']).replace('~/.ssh/id_ed25519', '/keys/new'));
    const d = diffHosts(current, next);
    expect(d.keep).toEqual([{ ...current[1], identityFile: '/keys/new' }]);
    expect(names(d.add)).toEqual(['my-fleet-2=h1']);
    expect(d.remove.map(hostKey)).toEqual(['root@h1:22']);
  });
});

describe('resolveBlocks', () => {
  test('auto is one block per GPU, a host without GPUs stays whole; numbers stay', () => {
    expect(resolveBlocks('auto', 8)).toBe(8);
    expect(resolveBlocks('auto', 0)).toBe(1);
    expect(resolveBlocks(4, 8)).toBe(4);
  });
});
