// `type: fleet`: SSH fleets with per-host overrides, cloud fleets with nodes.
import { describe, expect, test } from 'vitest';
import { parseConfigText } from '../../../src/core/config/load.js';
import type { FleetConfig } from '../../../src/core/model/index.js';

const fleet = (text: string) => parseConfigText(text, 'f.yml').config as FleetConfig;
const error = (text: string) => {
  try {
    parseConfigText(text, 'f.yml');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('fleet', () => {
  test('SSH fleet: hosts resolved with global and per-host settings', () => {
    const f = fleet(`type: fleet
name: my-fleet
placement: cluster
blocks: 2
env: [HTTP_PROXY=http://proxy]
ssh_config:
  user: ubuntu
  identity_file: ~/.ssh/id_rsa
  proxy_jump: {hostname: head, user: ubuntu, identity_file: ~/.ssh/head}
  hosts:
    - 10.77.0.11
    - hostname: 10.77.0.12
      port: 2222
      user: root
      blocks: auto
`);
    expect(f).toMatchObject({ type: 'fleet', name: 'my-fleet', placement: 'cluster', blocks: 2, env: { HTTP_PROXY: 'http://proxy' }, idle_duration: 259_200 });
    expect(f.ssh_config?.hosts).toEqual([
      { hostname: '10.77.0.11', port: 22, user: 'ubuntu', identity_file: '~/.ssh/id_rsa', proxy_jump: { hostname: 'head', user: 'ubuntu', identity_file: '~/.ssh/head' }, blocks: 2 },
      { hostname: '10.77.0.12', port: 2222, user: 'root', identity_file: '~/.ssh/id_rsa', proxy_jump: { hostname: 'head', user: 'ubuntu', identity_file: '~/.ssh/head' }, blocks: 'auto' },
    ]);
  });
  test('cloud fleet: nodes range and resources', () => {
    const f = fleet('type: fleet\nnodes: 0..2\nresources: {gpu: A100:8}\nbackends: [aws]\nspot_policy: auto\nidle_duration: off\n');
    expect(f).toMatchObject({ nodes: { min: 0, max: 2 }, backends: ['aws'], spot_policy: 'auto', idle_duration: 'off' });
    expect(f.resources.gpu).toMatchObject({ name: ['A100'], count: { min: 8, max: 8 } });
  });
  test('errors', () => {
    expect(error('type: fleet\nssh_config:\n  hosts: [a]\n')).toBe(
      'f.yml:3:11 ssh_config.hosts[0]: `user` is required (in `ssh_config` or on the host)\nf.yml:3:11 ssh_config.hosts[0]: `identity_file` is required (in `ssh_config` or on the host)',
    );
    expect(error('type: fleet\n')).toBe('f.yml:1:1: a fleet needs `ssh_config` (your own hosts) or `nodes` (cloud instances)');
    expect(error('type: fleet\nnodes: 1\nssh_config: {user: u, identity_file: k, hosts: [a]}\n')).toBe('f.yml:2:8 nodes: `ssh_config` and `nodes` are mutually exclusive');
    expect(error('type: fleet\nssh_config:\n  user: u\n  identity_file: k\n  network: 10.0.0.0/24\n  hosts:\n    - {hostname: a, internal_ip: 10.0.0.2}\n    - b\n')).toBe(
      'f.yml:5:12 ssh_config.network: `network` and per-host `internal_ip` are mutually exclusive\nf.yml:7:5 ssh_config.hosts: set `internal_ip` on every host or on none',
    );
    expect(error('type: fleet\nssh_config: {user: u, identity_file: k, hosts: [{hostname: a, internal_ip: 8.8.8.8}]}\n'))
      .toBe('f.yml:2:76 ssh_config.hosts[0].internal_ip: must be a private IPv4 address');
    expect(error('type: fleet\nblocks: 0\nnodes: 1\n')).toBe('f.yml:2:9 blocks: must be 1 or more');
    expect(error('type: fleet\nnodes: 1\nport: 8000\n')).toBe('f.yml:3:1 port: unknown field `port`');
  });
});
