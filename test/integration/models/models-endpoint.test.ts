/**
 * The /proxy/models endpoint driven by the official `openai` client, against real OpenAI-protocol and
 * TGI-protocol server processes, through the data plane's real Forwarder.
 */
import { connect } from 'node:net';
import OpenAI, { APIError, AuthenticationError, NotFoundError } from 'openai';
import type { ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelEntry } from '../../../src/proxy/contracts.js';
import { eventually, startEndpoint, startModelServer, TestRegistry, type Endpoint, type ModelServer } from './harness.js';

const TOKEN = 'project-token-main';
const llama3Template = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
const entry = (name: string, run: string, createdAt: number, extra: Partial<ModelEntry> = {}): ModelEntry => ({ project: 'main', name, run, format: 'openai', prefix: '/v1', createdAt, ...extra });

let a: ModelServer;
let b: ModelServer;
let tgi: ModelServer;
let endpoint: Endpoint;
let client: OpenAI;

beforeAll(async () => {
  [a, b, tgi] = await Promise.all([
    startModelServer('openai-server.mjs', { NAME: 'replica-a' }),
    startModelServer('openai-server.mjs', { NAME: 'replica-b' }),
    startModelServer('tgi-server.mjs'),
  ]);
  const registry = new TestRegistry([
    entry('model-a', 'old-run', 1_000_000), // an older run with the same name and no replica: must never be picked
    entry('model-a', 'run-a', 2_000_000),
    entry('model-b', 'run-b', 3_000_000),
    entry('model-down', 'old-run', 1_500_000),
    entry('llama-tgi', 'run-tgi', 4_000_000, { format: 'tgi', chatTemplate: llama3Template, bosToken: '<|begin_of_text|>', eosToken: '<|eot_id|>' }),
  ]);
  endpoint = await startEndpoint(registry, { 'old-run': undefined, 'run-a': a.origin, 'run-b': b.origin, 'run-tgi': tgi.origin }, { main: TOKEN });
  client = new OpenAI({ baseURL: endpoint.baseURL, apiKey: TOKEN, maxRetries: 0 });
});

afterAll(async () => {
  await endpoint?.close();
  for (const s of [a, b, tgi]) s?.stop();
});

describe('routing and auth', () => {
  it('lists the models of the project, once per name', async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => [m.id, m.created, m.owned_by]).sort()).toEqual([
      ['llama-tgi', 4000, 'main'],
      ['model-a', 2000, 'main'],
      ['model-b', 3000, 'main'],
      ['model-down', 1500, 'main'],
    ]);
    expect((await client.models.retrieve('model-b')).id).toBe('model-b');
  });

  it('routes two models of one project to their own replicas; the newest run wins a name clash', async () => {
    const ra = await client.chat.completions.create({ model: 'model-a', messages: [{ role: 'user', content: 'hi' }] });
    const rb = await client.chat.completions.create({ model: 'model-b', messages: [{ role: 'user', content: 'hi' }] });
    expect(ra.choices[0]?.message.content).toBe('replica-a says hi');
    expect(rb.choices[0]?.message.content).toBe('replica-b says hi');
  });

  it('rejects a wrong or missing token with 401 (AuthenticationError)', async () => {
    const wrong = new OpenAI({ baseURL: endpoint.baseURL, apiKey: 'not-the-token', maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(AuthenticationError);
    await expect(wrong.chat.completions.create({ model: 'model-a', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(AuthenticationError);
    const bare = await fetch(`${endpoint.baseURL}/models`);
    expect(bare.status).toBe(401);
    expect(await bare.json()).toEqual({ error: { message: expect.stringContaining('project main') as string, type: 'authentication_error', param: null, code: 'invalid_api_key' } });
  });

  it('answers 400 to two Authorization headers, one of them valid, and the replica sees nothing', async () => {
    const before = (await a.last())?.body;
    const url = new URL(`${endpoint.baseURL}/chat/completions`);
    const body = JSON.stringify({ model: 'model-a', messages: [{ role: 'user', content: 'twice' }] });
    // Written byte for byte: fetch merges repeated fields into one.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.write(
        `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${TOKEN}\r\nAuthorization: Bearer other\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      ));
      let text = '';
      socket.setEncoding('latin1').on('data', (c: string) => (text += c)).on('end', () => resolve(text)).on('error', reject);
    });
    expect(answer.startsWith('HTTP/1.1 400 ')).toBe(true);
    const error = (JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string } }).error;
    expect(error.code).toBe('ambiguous_authorization');
    expect((await a.last())?.body).toBe(before);
  });

  it('answers an unknown model with 404 in OpenAI shape (NotFoundError)', async () => {
    const err = await client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).message).toContain('Model nope not found in project main');
    expect((err as NotFoundError).code).toBe('model_not_found');
  });

  it('a model whose service has no ready replica is a 503 in OpenAI shape', async () => {
    const err = await client.chat.completions.create({ model: 'model-down', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(503);
    expect((err as APIError).code).toBe('no_ready_replicas');
  });

  it.each([
    ['POST', '/chat/completions', '{not json', 400, 'invalid_json'],
    ['POST', '/chat/completions', '{"messages": []}', 400, 'missing_model'],
    ['GET', '/chat/completions', undefined, 405, 'method_not_allowed'],
    ['POST', '/files', '{}', 404, 'unknown_url'],
  ])('%s %s %s → %i %s', async (method, path, body, status, code) => {
    const res = await fetch(endpoint.baseURL + path, { method, body, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
  });

  it('serves the same API without /v1, as dstack does', async () => {
    const noV1 = new OpenAI({ baseURL: endpoint.baseURL.replace(/\/v1$/, ''), apiKey: TOKEN, maxRetries: 0 });
    const r = await noV1.chat.completions.create({ model: 'model-b', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]?.message.content).toBe('replica-b says hi');
  });
});

describe('format: openai', () => {
  it('streams, with stream_options and unknown fields passed to the replica untouched', async () => {
    // `top_k` is a vendor field the OpenAI types do not know; it must reach the replica as sent.
    const params: ChatCompletionCreateParamsStreaming & { top_k: number } = {
      model: 'model-a',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      top_k: 5,
    };
    const stream = await client.chat.completions.create(params);
    let text = '';
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('replica-a says hi');
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
    const last = await a.last();
    expect(last?.path).toBe('/v1/chat/completions');
    expect(JSON.parse(last?.body ?? '{}')).toEqual({
      model: 'model-a',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      top_k: 5,
    });
    expect(last?.headers.authorization).toBeUndefined();
  });

  it('forwards completions and embeddings to the prefix', async () => {
    const c = await client.completions.create({ model: 'model-b', prompt: 'once' });
    expect(c.choices[0]?.text).toBe('replica-b: once');
    const e = await client.embeddings.create({ model: 'model-b', input: 'x', encoding_format: 'float' });
    expect(e.data[0]?.embedding).toEqual([0.1, 0.2]);
    expect((await b.last())?.path).toBe('/v1/embeddings');
  });

  it('a client that disconnects mid-stream aborts the upstream request', async () => {
    const before = (await a.stats()).aborted;
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: 'model-a', stream: true, messages: [{ role: 'user', content: 'HANG' }] }, { signal: controller.signal });
    for await (const chunk of stream) {
      expect(chunk.choices[0]?.delta.content).toBe('tick');
      controller.abort();
    }
    await eventually(async () => (await a.stats()).aborted > before);
  });
});

describe('format: tgi', () => {
  it('renders the chat template, calls /generate and answers a chat.completion', async () => {
    const r = await client.chat.completions.create({ model: 'llama-tgi', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi!' }], max_tokens: 20, seed: 7 });
    expect(r).toMatchObject({ object: 'chat.completion', model: 'llama-tgi', created: 1_700_000_000, system_fingerprint: 'fp_7' });
    expect(r.id).toBe(`chatcmpl-${'4'.repeat(24)}`);
    expect(r.choices).toEqual([{ index: 0, message: { role: 'assistant', content: 'Hello world' }, logprobs: null, finish_reason: 'stop' }]);
    expect(r.usage?.completion_tokens).toBe(3);
    const sent = JSON.parse((await tgi.last())?.body ?? '{}') as { inputs: string; parameters: Record<string, unknown> };
    expect(sent.inputs).toBe('<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
    expect(sent.parameters).toMatchObject({ max_new_tokens: 20, seed: 7, stop: ['<|eot_id|>'], details: true, decoder_input_details: true });
    expect(r.usage?.prompt_tokens).toBe(sent.inputs.split(/\s+/).filter(Boolean).length);
  });

  it('n: 2 comes back as two choices through best_of', async () => {
    const r = await client.chat.completions.create({ model: 'llama-tgi', n: 2, messages: [{ role: 'user', content: 'Hi' }] });
    expect(r.choices.map((c) => c.message.content)).toEqual(['Hello world', 'Hello world v1']);
    expect(JSON.parse((await tgi.last())?.body ?? '{}').parameters.best_of).toBe(2);
  });

  it('stop sequences end the text without appearing in it, streaming or not', async () => {
    const messages = [{ role: 'user' as const, content: 'REPLY:alpha beta END gamma|' }];
    const r = await client.chat.completions.create({ model: 'llama-tgi', stop: ' END', messages });
    expect(r.choices[0]).toMatchObject({ message: { content: 'alpha beta' }, finish_reason: 'stop' });
    const stream = await client.chat.completions.create({ model: 'llama-tgi', stop: [' END'], stream: true, messages });
    let text = '';
    const finishes: (string | null)[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finishes.push(chunk.choices[0]?.finish_reason ?? null);
    }
    expect(text).toBe('alpha beta');
    expect(finishes.at(-1)).toBe('stop');
  });

  it('streams chunks with one id, the role first, finish_reason last, and usage on request', async () => {
    const stream = await client.chat.completions.create({ model: 'llama-tgi', stream: true, stream_options: { include_usage: true }, max_tokens: 1, messages: [{ role: 'user', content: 'REPLY:one two three|' }] });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: 'one' });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('length');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 1 } });
  });

  it('serves plain completions from the prompt as given', async () => {
    const r = await client.completions.create({ model: 'llama-tgi', prompt: 'REPLY:done|' });
    expect(r.choices[0]).toMatchObject({ text: 'done', finish_reason: 'stop' });
    expect(JSON.parse((await tgi.last())?.body ?? '{}').inputs).toBe('REPLY:done|');
  });

  it('an upstream error before the first chunk is an HTTP error', async () => {
    const validation = await client.chat.completions.create({ model: 'llama-tgi', stream: true, messages: [{ role: 'user', content: 'FAIL_BEFORE' }] }).catch((e: unknown) => e);
    expect(validation).toBeInstanceOf(APIError);
    expect((validation as APIError).status).toBe(400);
    expect((validation as APIError).message).toContain('Input validation error');
    const firstEvent = await client.chat.completions.create({ model: 'llama-tgi', stream: true, messages: [{ role: 'user', content: 'FAIL_FIRST' }] }).catch((e: unknown) => e);
    expect((firstEvent as APIError).status).toBe(500);
    expect((firstEvent as APIError).message).toContain('CUDA out of memory');
  });

  it('an upstream error after the first chunk is an SSE error event, then [DONE]', async () => {
    const stream = await client.chat.completions.create({ model: 'llama-tgi', stream: true, messages: [{ role: 'user', content: 'FAIL_AFTER' }] });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(seen.join('')).toBe('Hello world');
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).message).toContain('CUDA out of memory');

    const raw = await fetch(`${endpoint.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama-tgi', stream: true, messages: [{ role: 'user', content: 'FAIL_AFTER' }] }),
    });
    expect(raw.headers.get('x-accel-buffering')).toBe('no');
    const text = await raw.text();
    expect(text).toMatch(/event: error\ndata: \{"error":\{"message":"Request failed during generation: CUDA out of memory","type":"server_error","param":null,"code":"generation"\}\}\n\ndata: \[DONE\]\n\n$/);
  });

  it('a client that disconnects mid-stream aborts the TGI request', async () => {
    const before = (await tgi.stats()).aborted;
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: 'llama-tgi', stream: true, messages: [{ role: 'user', content: 'HANG' }] }, { signal: controller.signal });
    for await (const chunk of stream) {
      expect(chunk.choices[0]?.delta.content).toBe(' tick');
      controller.abort();
    }
    await eventually(async () => (await tgi.stats()).aborted > before);
  });

  it('refuses embeddings and n > 1 with stream, in OpenAI shape', async () => {
    const e = await client.embeddings.create({ model: 'llama-tgi', input: 'x' }).catch((x: unknown) => x);
    expect((e as APIError).status).toBe(400);
    const n = await client.chat.completions.create({ model: 'llama-tgi', n: 2, stream: true, messages: [{ role: 'user', content: 'x' }] }).catch((x: unknown) => x);
    expect((n as APIError).status).toBe(400);
    expect((n as APIError).param).toBe('n');
  });
});
