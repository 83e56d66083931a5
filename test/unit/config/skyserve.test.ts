// SkyServe service YAML → ServiceConfig: each SkyServe field maps to its dstack equivalent with SkyServe's constants.
import { describe, expect, test } from 'vitest';
import { parseConfigText } from '../../../src/core/config/load.js';
import type { ServiceConfig } from '../../../src/core/model/index.js';

const GB = 1024 ** 3;
const sky = (text: string) => parseConfigText(text, 'sky.yaml').config as ServiceConfig;
const error = (text: string) => {
  try {
    parseConfigText(text, 'sky.yaml');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('SkyServe translation', () => {
  test('readiness_probe object → probe with SkyServe interval and timeout; post_data → POST with JSON body', () => {
    const c = sky(`service:
  readiness_probe:
    path: /v1/chat/completions
    post_data: {model: m, messages: [{role: user, content: hi}], max_tokens: 1}
    initial_delay_seconds: 600
    timeout_seconds: 30
    headers: {Authorization: Bearer x}
resources: {ports: 8080}
run: python serve.py
`);
    expect(c.probes).toEqual([{
      type: 'http', url: '/v1/chat/completions', method: 'post', until_ready: false, ready_after: 1, interval: 10, timeout: 30,
      headers: [{ name: 'Authorization', value: 'Bearer x' }],
      body: '{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":1}',
    }]);
    expect(c.skyserve?.initial_delay_seconds).toBe(600);
    expect(c.source_format).toBe('skyserve');
  });

  test('replica_policy → replicas range + rps scaling (60 s window, SkyServe delays)', () => {
    const c = sky(`service:
  readiness_probe: /health
  replica_policy: {min_replicas: 0, max_replicas: 4, target_qps_per_replica: 2.5}
resources: {ports: 8080}
run: x
`);
    expect(c.replicas).toEqual({ min: 0, max: 4 });
    expect(c.scaling).toEqual({ metric: 'rps', target: 2.5, window: 60, scale_up_delay: 300, scale_down_delay: 1200 });
    const d = sky(`service: {replica_policy: {min_replicas: 1, max_replicas: 3, target_qps_per_replica: 1, upscale_delay_seconds: 60, downscale_delay_seconds: 90}}
resources: {ports: 8080}
run: x
`);
    expect(d.scaling).toMatchObject({ scale_up_delay: 60, scale_down_delay: 90 });
  });

  test('no replicas → 1 replica, probe GET / (SkyServe defaults)', () => {
    const c = sky('service: {}\nresources: {ports: 8080}\nrun: x\n');
    expect(c.replicas).toEqual({ min: 1, max: 1 });
    expect(c.probes?.[0]).toMatchObject({ url: '/', method: 'get', interval: 10, timeout: 15 });
  });

  test('resources, envs, file_mounts, placement', () => {
    const c = sky(`name: my-svc
service: {readiness_probe: /, ports: 9000}
resources:
  ports: [8080, 9000]
  cpus: 4+
  memory: 32+
  accelerators: {A100-80GB: 2}
  disk_size: 512
  use_spot: true
  infra: aws/us-east-1
  image_id: docker:vllm/vllm-openai:latest
envs: {MODEL: m, PORT: 9000, HF_TOKEN: null}
file_mounts: {/data/config.json: ./config.json}
setup: pip install x
run: |
  python serve.py --port 9000
`);
    expect(c).toMatchObject({
      name: 'my-svc', port: { container_port: 9000 }, spot_policy: 'spot', backends: ['aws'], regions: ['us-east-1'],
      image: 'vllm/vllm-openai:latest', env: { MODEL: 'm', PORT: '9000', HF_TOKEN: { required: true } },
      files: [{ local_path: './config.json', path: '/data/config.json' }],
      commands: ['pip install x', 'python serve.py --port 9000'], auth: false,
    });
    expect(c.resources).toEqual({
      cpu: { count: { min: 4 } }, memory: { min: 32 * GB }, disk: { size: { min: 512 * GB } },
      gpu: { name: ['A100'], vendor: 'nvidia', memory: { min: 80 * GB, max: 80 * GB }, count: { min: 2, max: 2 } },
    });
  });

  test('accelerator forms: string, dict, list of alternatives', () => {
    const gpu = (acc: string) => sky(`service: {}\nresources: {ports: 8080, accelerators: ${acc}}\nrun: x\n`).resources.gpu;
    expect(gpu('A10g')).toEqual({ name: ['A10G'], vendor: 'nvidia', count: { min: 1, max: 1 } });
    expect(gpu('"H100:8"')).toEqual({ name: ['H100'], vendor: 'nvidia', count: { min: 8, max: 8 } });
    expect(gpu('[L4:1, A10G:2]')).toEqual({ name: ['L4', 'A10G'], vendor: 'nvidia', count: { min: 1, max: 2 } });
    expect(gpu('tpu-v5litepod-4')).toEqual({ name: ['v5litepod-4'], vendor: 'google', count: { min: 1, max: 1 } });
  });

  test('on-demand fallback fields → `fallback` (on spot resources only, as SkyServe requires)', () => {
    const c = sky(`service:
  replica_policy: {min_replicas: 3, base_ondemand_fallback_replicas: 1, dynamic_ondemand_fallback: true}
resources: {ports: 8080, use_spot: true}
run: x
`);
    expect(c.spot_policy).toBe('spot');
    expect(c.fallback).toEqual({ on_demand_base: 1, dynamic: true });
    expect(c.skyserve?.notes.some((n) => n.includes('fallback'))).toBe(false);
    const only = sky('service: {replica_policy: {min_replicas: 2, dynamic_ondemand_fallback: true}}\nresources: {ports: 8080, use_spot: true}\nrun: x\n');
    expect(only.fallback).toEqual({ on_demand_base: 0, dynamic: true });
    expect(error('service: {replica_policy: {min_replicas: 2, base_ondemand_fallback_replicas: 1}}\nresources: {ports: 8080}\nrun: x\n'))
      .toBe('sky.yaml:1:78 service.replica_policy.base_ondemand_fallback_replicas: `base_ondemand_fallback_replicas` requires spot resources: set `use_spot: true` in `resources`');
    expect(error('service: {replica_policy: {min_replicas: 2, base_ondemand_fallback_replicas: 3}}\nresources: {ports: 8080, use_spot: true}\nrun: x\n'))
      .toBe('sky.yaml:1:78 service.replica_policy.base_ondemand_fallback_replicas: must be at most the maximum number of replicas (2); got 3 (as dstack `fallback.on_demand_base`)');
  });

  test('errors point at the SkyServe keys', () => {
    expect(error('service: {replicas: 2, replica_policy: {min_replicas: 1}}\nresources: {ports: 8080}\nrun: x\n'))
      .toBe('sky.yaml:1:40 service.replica_policy: Cannot specify both `replicas` and `replica_policy`');
    expect(error('service: {replica_policy: {min_replicas: 1, max_replicas: 3}}\nresources: {ports: 8080}\nrun: x\n'))
      .toBe('sky.yaml:1:27 service.replica_policy: Detected different min_replicas and max_replicas while target_qps_per_replica is not set. To enable autoscaling, please set target_qps_per_replica.');
    expect(error('service: {readiness_probe: health}\nresources: {ports: 8080}\nrun: x\n'))
      .toBe('sky.yaml:1:28 service.readiness_probe: readiness_path must start with a slash (/)');
    expect(error('service: {readiness_probe: {path: /, post_data: "{bad"}}\nresources: {ports: 8080}\nrun: x\n'))
      .toBe('sky.yaml:1:49 service.readiness_probe.post_data: `post_data` must be valid JSON');
    expect(error('service: {}\nrun: x\n')).toBe('sky.yaml:1:1 resources: a service needs a port: set `resources.ports` (or `service.ports`)');
    expect(error('service: {}\nresources: {ports: [8080, 8081]}\nrun: x\n'))
      .toBe('sky.yaml:2:20 resources.ports: several ports are open; set `service.ports` to the one that serves');
    expect(error('service: {readiness_probe: /, replica: 2}\nresources: {ports: 8080}\nrun: x\n'))
      .toBe('sky.yaml:1:31 service.replica: unknown field `replica`; did you mean `replicas`?');
    expect(error('service: {}\nresources: {ports: 8080, accelerator: A100}\nrun: x\n'))
      .toBe('sky.yaml:2:26 resources.accelerator: unknown field `accelerator`; did you mean `accelerators`?');
    expect(error('service: {}\nresources: {ports: 8080}\nfile_mounts: {/data: s3://bucket/data}\nrun: x\n'))
      .toBe('sky.yaml:3:22 file_mounts./data: cloud storage mounts are not supported; only local files can be mounted');
    expect(error('service: {}\nresources: {ports: 8080}\nnum_nodes: 2\nrun: x\n'))
      .toBe('sky.yaml:3:12 num_nodes: multi-node replicas are not supported; use `num_nodes: 1`');
    expect(error('name: My_Svc\nservice: {}\nresources: {ports: 8080}\nrun: x\n'))
      .toBe('sky.yaml:1:7 name: must start with a lowercase letter and contain only lowercase letters, digits and `-` (2..41 characters) (as dstack `name`)');
  });
});
