// Fields that parse (dstack's docs use them) but are not run yet are each reported, under the key the user wrote.
import { describe, expect, test } from 'vitest';
import { loadConfigFile, parseConfigText } from '../../../src/core/config/load.js';
import { unsupportedFields } from '../../../src/core/config/unsupported-fields.js';

const docs = 'test/fixtures/configs/dstack-docs';
const report = (text: string) => {
  const loaded = parseConfigText(text, 'c.yml');
  return unsupportedFields(loaded.config, loaded.raw);
};

describe('unsupportedFields', () => {
  test('a plain service or SSH fleet has none', () => {
    expect(report('type: service\nport: 8000\ncommands: [x]\nenv: [A=1, B]\nregistry_auth: {username: u, password: "${{ env.P }}"}\n')).toEqual([]);
    expect(report('type: fleet\nssh_config: {user: u, identity_file: k, hosts: [a]}\n')).toEqual([]);
  });

  test('router groups from dstack\'s docs are supported now (issue 14): SGLang and Dynamo, legacy `replicas:` list', async () => {
    const sglang = await loadConfigFile(`${docs}/mkdocs__docs__concepts__services.md__6.dstack.yml`);
    expect(sglang.config.type === 'service' && sglang.config.groups?.some((g) => g.router?.type === 'sglang')).toBe(true);
    expect(unsupportedFields(sglang.config, sglang.raw)).toEqual([]);
    const dynamo = await loadConfigFile(`${docs}/mkdocs__docs__examples__inference__dynamo.md__1.dstack.yml`);
    expect(dynamo.config.type === 'service' && dynamo.config.groups?.some((g) => g.router?.type === 'dynamo')).toBe(true);
    expect(unsupportedFields(dynamo.config, dynamo.raw)).toEqual([]);
  });

  test('a `groups:` router group is not reported either', () => {
    const text = 'type: service\nport: 8000\nimage: i\ngroups:\n  - {name: a, replicas: 1}\n  - {name: r, replicas: 1, router: {type: sglang}}\n';
    expect(report(text)).toEqual([]);
  });

  test('cloud fleets (`nodes`) from dstack\'s docs are supported now (issue 13)', async () => {
    const loaded = await loadConfigFile(`${docs}/mkdocs__docs__concepts__fleets.md__7.dstack.yml`);
    expect(loaded.config.type === 'fleet' && loaded.config.nodes).toBeTruthy();
    expect(unsupportedFields(loaded.config, loaded.raw)).toEqual([]);
  });

  test('backend_options on a service and on a fleet', () => {
    const message = '`backend_options` is not supported yet (dstack filters and orders Vast.ai offers with them; there is no Vast.ai backend)';
    expect(report('type: service\nport: 8000\ncommands: [x]\nbackend_options: [{type: vastai}]\n')).toEqual([{ path: 'backend_options', message }]);
    expect(report('type: fleet\nnodes: 1\nbackend_options: [{type: vastai}]\n').map((f) => f.path)).toEqual(['backend_options']);
  });

  test('${{ secrets.NAME }} in env and registry_auth is supported now (resolved by the daemon, test/unit/secrets)', () => {
    const fields = report(`type: service
port: 8000
image: nvcr.io/nim/deepseek
env:
  HF_TOKEN: \${{ secrets.hf_token }}
  PLAIN: value
registry_auth:
  username: $oauthtoken
  password: \${{secrets.ngc_api_key}}
`);
    expect(fields).toEqual([]);
  });
});
