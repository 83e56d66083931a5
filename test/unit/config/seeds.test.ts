// Every YAML example of the seed documents (copied to test/fixtures/configs/seeds, named by seed) validates,
// and its key fields normalize as dstack / SkyServe define them.
import { describe, expect, test } from 'vitest';
import { loadConfigFile } from '../../../src/core/config/load.js';
import type { ServiceConfig } from '../../../src/core/model/index.js';

const GB = 1024 ** 3;
const dir = 'test/fixtures/configs/seeds';
const load = async (name: string) => {
  const r = await loadConfigFile(`${dir}/${name}`);
  expect(r.kind).toBe('service');
  return r.config as ServiceConfig;
};
const http = { local_port: 80, container_port: 8000 };

describe('dstack seeds', () => {
  test('000 python version', async () => {
    const c = await load('000-service-ref-python-version.dstack.yml');
    expect(c).toMatchObject({ name: 'http-server-service', python: '3.10', commands: ['python3 -m http.server'], port: http, replicas: { min: 1, max: 1 }, auth: true, source_format: 'dstack' });
    expect(c.resources).toEqual({ cpu: { count: { min: 2 } }, memory: { min: 8 * GB }, gpu: { count: { min: 0 } }, disk: { size: { min: 100 * GB } } });
  });
  test('000 nvcc', async () => expect(await load('000-service-ref-nvcc.dstack.yml')).toMatchObject({ nvcc: true, python: '3.10' }));
  test('000 docker image', async () => {
    const c = await load('000-service-ref-docker-image.dstack.yml');
    expect(c.image).toBe('dstackai/base:py3.13-0.6-cuda-12.1');
    expect(c.python).toBeUndefined();
  });
  test('000 registry auth', async () => {
    expect((await load('000-service-ref-registry-auth.dstack.yml')).registry_auth).toEqual({ username: 'peterschmidt85', password: 'ghp_e49HcZ9oYwBzUbcSk2080gXZOU2hiT9AeSR5' });
  });
  test('000 model mapping', async () => {
    const c = await load('000-service-ref-model-mapping.dstack.yml');
    expect(c.model).toEqual({ type: 'chat', name: 'meta-llama/Meta-Llama-3.1-8B-Instruct', format: 'openai', prefix: '/v1' });
    expect(c.env).toEqual({ HF_TOKEN: { required: true } });
    expect(c.resources.gpu).toEqual({ memory: { min: 24 * GB, max: 24 * GB }, count: { min: 1 } });
  });
  test('000 autoscaling', async () => {
    const c = await load('000-service-ref-autoscaling.dstack.yml');
    expect(c.replicas).toEqual({ min: 1, max: 4 });
    expect(c.scaling).toEqual({ metric: 'rps', target: 10, window: 60, scale_up_delay: 300, scale_down_delay: 600 });
  });
  test('000 resources (mixtral)', async () => {
    const c = await load('000-service-ref-resources-mixtral.dstack.yml');
    expect(c.resources.gpu).toEqual({ memory: { min: 80 * GB, max: 80 * GB }, count: { min: 2, max: 2 } });
    expect(c.resources.disk).toEqual({ size: { min: 200 * GB, max: 200 * GB } });
    expect(c.commands[1]).toBe('python -m vllm.entrypoints.openai.api_server --model mistralai/Mixtral-8X7B-Instruct-v0.1 --host 0.0.0.0 --tensor-parallel-size $DSTACK_GPUS_NUM');
  });
  test('000 auth disabled', async () => expect((await load('000-service-ref-auth-disabled.dstack.yml')).auth).toBe(false));
  test('000 env vars', async () => {
    expect((await load('000-service-ref-env-vars.dstack.yml')).env).toEqual({ HF_TOKEN: { required: true }, MODEL: 'NousResearch/Llama-2-7b-chat-hf' });
  });
  test('000 spot policy (default on-demand)', async () => {
    expect(await load('000-service-ref-spot-policy.dstack.yml')).toMatchObject({ spot_policy: 'on-demand', creation_policy: 'reuse-or-create', stop_duration: 300, idle_duration: 300, max_duration: 'off', retry: false });
  });
  test('000 backends', async () => expect((await load('000-service-ref-backends.dstack.yml')).backends).toEqual(['aws', 'gcp']));
  test('000 regions', async () => expect((await load('000-service-ref-regions.dstack.yml')).regions).toEqual(['eu-west-1', 'eu-west-2']));
  test('000 volumes', async () => {
    expect((await load('000-service-ref-volumes.dstack.yml')).volumes).toEqual([{ type: 'network', name: ['my-new-volume'], path: '/volume_data' }]);
  });
  test('000/001 TGI chat template', async () => {
    const c = await load('000-service-ref-tgi-chat-template.dstack.yml');
    expect(c.model).toMatchObject({ type: 'chat', name: 'TheBloke/Llama-2-13B-chat-GPTQ', format: 'tgi', eos_token: '</s>' });
    expect(c.model?.format === 'tgi' && c.model.chat_template?.startsWith("{% if messages[0]['role'] == 'system' %}")).toBe(true);
    expect(c.resources.gpu.memory).toEqual({ min: 80 * GB, max: 80 * GB });
  });
  test('002 services guide (llama31)', async () => {
    const c = await load('002-services-guide-llama31.dstack.yml');
    expect(c).toMatchObject({ name: 'llama31', python: '3.11', env: { HF_TOKEN: { required: true }, MODEL_ID: 'meta-llama/Meta-Llama-3.1-8B-Instruct', MAX_MODEL_LEN: '4096' } });
    expect(c.model?.name).toBe('meta-llama/Meta-Llama-3.1-8B-Instruct');
  });
  test('002 TPU', async () => {
    expect((await load('002-services-guide-tpu.dstack.yml')).resources.gpu).toEqual({ name: ['v5litepod-4'], vendor: 'google', count: { min: 1 } });
  });
  test('004 mistral vLLM', async () => {
    const c = await load('004-mistral-tutorial-mistral-vllm.dstack.yml');
    expect(c.model).toEqual({ type: 'chat', name: 'mistral-7b-it', format: 'openai', prefix: '/v1' });
    expect(c.name).toBeUndefined();
  });
  test('004 mistral TGI', async () => {
    const c = await load('004-mistral-tutorial-mistral-tgi.dstack.yml');
    expect(c.model).toEqual({ type: 'chat', name: 'mistral-7b-it', format: 'tgi' });
    expect(c.image).toBe('ghcr.io/huggingface/text-generation-inference:latest');
  });
});

describe('SkyServe seeds (003)', () => {
  const probe = (url: string) => ({ type: 'http', url, method: 'get', headers: [], timeout: 15, interval: 10, ready_after: 1, until_ready: false });
  test('vLLM service.yaml', async () => {
    const c = await load('003-skyserve-vllm-service.yaml');
    expect(c).toMatchObject({ source_format: 'skyserve', port: { local_port: 80, container_port: 8080 }, replicas: { min: 2, max: 2 }, auth: false });
    expect(c.probes).toEqual([probe('/v1/models')]);
    expect(c.resources.gpu).toEqual({ name: ['L4', 'A10G', 'A100'], vendor: 'nvidia', count: { min: 2, max: 8 } });
    expect(c.commands).toHaveLength(3);
    expect(c.commands[0]).toBe('export SKYPILOT_NUM_GPUS_PER_NODE="${DSTACK_GPUS_NUM:-0}"');
    expect(c.commands[1]).toBe('conda create -n vllm python=3.9 -y\nconda activate vllm\npip install vllm');
    expect(c.skyserve?.accelerators).toHaveLength(7);
    expect(c.skyserve?.initial_delay_seconds).toBe(1200);
  });
  test('TGI service.yaml', async () => {
    const c = await load('003-skyserve-tgi-service.yaml');
    expect(c.probes).toEqual([probe('/health')]);
    expect(c.resources.gpu).toEqual({ name: ['A100'], vendor: 'nvidia', count: { min: 1, max: 1 } });
    expect(c.skyserve?.notes.some((n) => n.includes('Docker'))).toBe(true);
  });
  test('hello-sky-serve.yaml', async () => {
    const c = await load('003-skyserve-hello-sky-serve.yaml');
    expect(c).toMatchObject({ replicas: { min: 2, max: 2 }, commands: ['python -m http.server 8080'], port: { container_port: 8080 } });
    expect(c.resources.cpu).toEqual({ count: { min: 2 } });
    expect(c.probes).toEqual([probe('/')]);
  });
  test('vicuna.yaml (service section added to the task, as the doc says)', async () => {
    const c = await load('003-skyserve-vicuna-service-full.yaml');
    expect(c.env).toEqual({ MODEL_SIZE: '7' });
    expect(c.replicas).toEqual({ min: 3, max: 3 });
    expect(c.resources.disk).toEqual({ size: { min: 1024 * GB } });
  });
  test.each([
    ['003-skyserve-controller-global-config.yaml', ':1:1: this is a SkyPilot global config (~/.sky/config.yaml) snippet with the SkyServe controller settings, not a service configuration'],
    ['003-skyserve-hello-task-no-service.yaml', ':1:1: this is a SkyPilot task YAML without a `service:` section; add one (e.g. `service: {readiness_probe: /, replicas: 1}`) to serve it'],
    ['003-skyserve-vicuna-task-no-service.yaml', ':1:1: this is a SkyPilot task YAML without a `service:` section'],
    ['003-skyserve-vicuna-service-snippet.yaml', ':2:1: a SkyServe service needs `run`: the command that starts the server'],
  ])('%s is not a service: one clear line', async (name, message) => {
    const err = await loadConfigFile(`${dir}/${name}`).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`${dir}/${name}${message}`);
    expect((err as Error).message.split('\n')).toHaveLength(1);
  });
});
