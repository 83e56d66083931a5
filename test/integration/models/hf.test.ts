/** fetchTokenizerConfig against a real HTTP server on 127.0.0.1 standing in for the Hub (HF_ENDPOINT-style). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/core/errors.js';
import { fetchTokenizerConfig, fromConfig } from '../../../src/proxy/models/hf.js';

const seen: { url?: string; authorization?: string }[] = [];
let endpoint = '';
let server: http.Server;

const configs: Record<string, unknown> = {
  '/mistralai/Mistral-7B-Instruct-v0.2/resolve/main/tokenizer_config.json': { chat_template: '{{ bos_token }}x', bos_token: '<s>', eos_token: '</s>' },
  // Older tokenizers store special tokens as AddedToken objects (dstack could not read these).
  '/TheBloke/Llama-2-13B-chat-GPTQ/resolve/main/tokenizer_config.json': { chat_template: 't', eos_token: { content: '</s>', lstrip: false, __type: 'AddedToken' }, bos_token: { content: '<s>' } },
  '/org/named-templates/resolve/main/tokenizer_config.json': { chat_template: [{ name: 'tool_use', template: 'tools' }, { name: 'default', template: 'chat' }], eos_token: '<eos>' },
  '/org/no-template/resolve/main/tokenizer_config.json': { eos_token: '</s>' },
};

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ url: req.url, authorization: req.headers.authorization });
    if (req.url?.startsWith('/gated/')) return void res.writeHead(req.headers.authorization ? 403 : 401).end();
    const body = configs[req.url ?? ''];
    if (!body) return void res.writeHead(404).end('Entry not found');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function failure(promise: Promise<unknown>): Promise<UserError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UserError);
  expect((err as UserError).code).toBe('TGI_TEMPLATE_UNAVAILABLE');
  expect((err as UserError).hint).toContain('`chat_template` and `eos_token`');
  return err as UserError;
}

describe('fetchTokenizerConfig', () => {
  it('reads chat_template, eos_token and bos_token, sending the HF token', async () => {
    const cfg = await fetchTokenizerConfig('mistralai/Mistral-7B-Instruct-v0.2', { endpoint, hfToken: 'hf_secret' });
    expect(cfg).toEqual({ chatTemplate: '{{ bos_token }}x', eosToken: '</s>', bosToken: '<s>' });
    expect(seen.at(-1)).toEqual({ url: '/mistralai/Mistral-7B-Instruct-v0.2/resolve/main/tokenizer_config.json', authorization: 'Bearer hf_secret' });
  });

  it('understands AddedToken objects and named template lists', async () => {
    expect(await fetchTokenizerConfig('TheBloke/Llama-2-13B-chat-GPTQ', { endpoint })).toEqual({ chatTemplate: 't', eosToken: '</s>', bosToken: '<s>' });
    expect(await fetchTokenizerConfig('org/named-templates', { endpoint })).toEqual({ chatTemplate: 'chat', eosToken: '<eos>' });
  });

  it('gated without a token (401), refused with one (403), missing (404), no template', async () => {
    expect((await failure(fetchTokenizerConfig('gated/model', { endpoint }))).message).toMatch(/HTTP 401.*no HF_TOKEN/);
    expect((await failure(fetchTokenizerConfig('gated/model', { endpoint, hfToken: 'hf_x' }))).message).toMatch(/HTTP 403.*no access/);
    expect((await failure(fetchTokenizerConfig('org/missing', { endpoint }))).message).toContain('HTTP 404');
    expect((await failure(fetchTokenizerConfig('org/no-template', { endpoint }))).message).toContain('has no chat_template');
  });

  it('offline: a connection failure is the same clear UserError, never leaking the token', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await failure(fetchTokenizerConfig('org/x', { endpoint: `http://127.0.0.1:${port}`, hfToken: 'hf_secret' }));
    expect(err.message).toContain(`could not reach http://127.0.0.1:${port}`);
    expect(err.message).not.toContain('hf_secret');
  });

  it('uses an injected fetch', async () => {
    const calls: string[] = [];
    const fake: typeof fetch = async (url) => {
      calls.push(String(url));
      return new Response(JSON.stringify({ chat_template: 'c', eos_token: 'e' }), { status: 200 });
    };
    expect(await fetchTokenizerConfig('a/b', { fetch: fake })).toEqual({ chatTemplate: 'c', eosToken: 'e' });
    expect(calls).toEqual(['https://huggingface.co/a/b/resolve/main/tokenizer_config.json']);
  });

  it('fromConfig needs an eos_token', () => {
    expect(() => fromConfig('m', { chat_template: 'x' })).toThrow(/no eos_token/);
  });
});
