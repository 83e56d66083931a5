/**
 * The seed service (`python3 -m http.server` on dstack's base image, replaced by DSTACK_BASE_IMAGE with the
 * local python test image) and a `model:` service reached through the models endpoint with the official
 * `openai` client: the daemon's wiring of registry, prober (default model probe) and proxy.
 */
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgent, isReady, removeContainersOf, removeDir, requireDocker, startTestDaemon, tempDir, waitFor, type TestDaemon } from './harness.js';

const tag = process.pid;
const SEED = `http-server-${tag}`;
const MODEL_RUN = `llm-${tag}`;
const TGI_RUN = `tgi-${tag}`;

describe('seed service and model endpoint', () => {
  let dir: string;
  let t: TestDaemon;

  beforeAll(async () => {
    await requireDocker(['dstack-test/node:latest', 'dstack-test/python:latest']);
    dir = await tempDir('dstack-seeds-');
    t = await startTestDaemon(await buildAgent(dir), { DSTACK_BASE_IMAGE: 'dstack-test/python:latest' }, join(dir, 'home'));
  });

  afterAll(async () => {
    await t?.close();
    for (const n of [SEED, MODEL_RUN, TGI_RUN]) await removeContainersOf(n);
    await removeDir(dir);
  });

  it('the seed `python3 -m http.server` service answers through the proxy', async () => {
    // As in /work/shared/seeds/000*: python "3.10", no image, port 8000.
    await t.api.apply({ type: 'service', name: SEED, python: '3.10', commands: ['python3 -m http.server'], port: 8000 });
    await waitFor('the seed service', async () => isReady(await t.api.run(SEED)));
    const res = await t.api.service('main', SEED, '/');
    expect(res.status).toBe(200);
    expect(res.text).toContain('Directory listing');
  });

  it('a model service is listed and answers chat completions through /proxy/models with the openai client', async () => {
    const view = await t.api.apply({
      type: 'service',
      name: MODEL_RUN,
      image: 'dstack-test/node:latest',
      commands: ['node /srv/openai-server.mjs'],
      env: { PORT: '8000', MODEL: 'test/llm-1' },
      port: 8000,
      model: 'test/llm-1',
    });
    expect(view.model).toEqual({ name: 'test/llm-1', format: 'openai', url: `${t.daemon.url}/proxy/models/main/v1/` });
    const ready = await waitFor('the model replica to pass the default probe', async () => {
      const v = await t.api.run(MODEL_RUN);
      return isReady(v) ? v : undefined;
    });
    expect(ready.replicas[0]?.probes).toEqual([{ successStreak: expect.any(Number), lastOk: true, readyAfter: 1 }]);
    const client = new OpenAI({ baseURL: view.model!.url, apiKey: t.token });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('test/llm-1');
    const answer = await client.chat.completions.create({ model: 'test/llm-1', messages: [{ role: 'user', content: 'hello there' }] });
    expect(answer.choices[0]?.message.content).toContain('hello there');
  });

  it('a TGI model beside it: both routed by name, streaming, stream_options, wrong token refused', async () => {
    const view = await t.api.apply({
      type: 'service',
      name: TGI_RUN,
      image: 'dstack-test/node:latest',
      commands: ['node /srv/tgi-server.mjs'],
      env: { PORT: '8000' },
      port: 8000,
      model: {
        type: 'chat',
        name: 'test/tgi-1',
        format: 'tgi',
        chat_template: "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
        eos_token: '</s>',
      },
    });
    expect(view.model?.format).toBe('tgi');
    await waitFor('the TGI replica', async () => isReady(await t.api.run(TGI_RUN)));
    const client = new OpenAI({ baseURL: view.model!.url, apiKey: t.token });
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['test/llm-1', 'test/tgi-1']));

    const tgi = await client.chat.completions.create({ model: 'test/tgi-1', messages: [{ role: 'user', content: 'ping pong' }], max_tokens: 16 });
    expect(tgi.object).toBe('chat.completion');
    expect(tgi.choices[0]?.message.role).toBe('assistant');
    expect(tgi.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(tgi.usage?.completion_tokens).toBeGreaterThan(0);

    const stream = await client.chat.completions.create({
      model: 'test/tgi-1',
      messages: [{ role: 'user', content: 'stream me' }],
      max_tokens: 16,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(text.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(finish);

    // The OpenAI-format model still answers its own name, streaming, with stream_options passed through.
    const openaiStream = await client.chat.completions.create({
      model: 'test/llm-1',
      messages: [{ role: 'user', content: 'two models' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let echoed = '';
    let usage = false;
    for await (const chunk of openaiStream) {
      echoed += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = true;
    }
    expect(echoed).toContain('two models');
    expect(usage).toBe(true);

    const wrong = new OpenAI({ baseURL: view.model!.url, apiKey: 'not-a-token', maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
  });

  it('served these requests from the configured number of data-plane processes', () => {
    // CI's second pass sets DSTACK_PROXY_WORKERS=2: the requests above then went through worker processes.
    const workers = Number(process.env.DSTACK_PROXY_WORKERS ?? '1');
    expect(t.daemon.proxyWorkers?.pids().length ?? 1).toBe(Math.max(1, workers));
    if (workers > 1) expect([...(t.daemon.proxyWorkers?.requests().values() ?? [])].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});
