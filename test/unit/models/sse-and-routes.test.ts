import { describe, expect, it } from 'vitest';
import { requestHeadersForReplica, responseHeadersForClient } from '../../../src/proxy/models/headers.js';
import { listModels } from '../../../src/proxy/models/list.js';
import { replicaPath } from '../../../src/proxy/models/openai-passthrough.js';
import { parseModelsUrl } from '../../../src/proxy/models/routes.js';
import { sseData } from '../../../src/proxy/models/tgi/sse-parse.js';
import type { ModelEntry } from '../../../src/proxy/contracts.js';

async function collect(chunks: string[] | Buffer[]): Promise<string[]> {
  const out: string[] = [];
  async function* source() {
    for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c) : c;
  }
  for await (const d of sseData(source())) out.push(d);
  return out;
}

describe('sseData', () => {
  it('splits events across arbitrary chunk boundaries and CRLF', async () => {
    expect(await collect(['data:{"a":', '1}\n\nda', 'ta: x\r\n\r\n: comment\n\nevent: e\ndata: y\n', 'data: z\n\n'])).toEqual(['{"a":1}', 'x', 'y\nz']);
  });

  it('decodes a multi-byte character split between chunks', async () => {
    const bytes = Buffer.from('data: é\n\n');
    expect(await collect([bytes.subarray(0, 7), bytes.subarray(7)])).toEqual(['é']);
  });

  it('yields a last event without a trailing blank line', async () => {
    expect(await collect(['data: end'])).toEqual(['end']);
  });
});

describe('parseModelsUrl', () => {
  it.each([
    ['/proxy/models/main/v1/chat/completions', 'main', { kind: 'chat' }],
    ['/proxy/models/main/chat/completions?x=1', 'main', { kind: 'chat' }],
    ['/proxy/models/main/models', 'main', { kind: 'list' }],
    ['/proxy/models/main/v1/completions', 'main', { kind: 'completions' }],
    ['/proxy/models/main/v1/embeddings', 'main', { kind: 'embeddings' }],
    ['/proxy/models/main/v1/models/meta-llama/Llama-3', 'main', { kind: 'retrieve', model: 'meta-llama/Llama-3' }],
    ['/proxy/models/main/v1/models/meta-llama%2FLlama-3', 'main', { kind: 'retrieve', model: 'meta-llama/Llama-3' }],
    ['/proxy/models/main/v1/files', 'main', undefined],
  ])('%s', (url, project, endpoint) => {
    expect(parseModelsUrl(url)).toMatchObject({ project, endpoint });
  });

  it('keeps the query for the replica and names no project for a bare mount', () => {
    expect(parseModelsUrl('/proxy/models/p/v1/chat/completions?a=b')).toMatchObject({ subpath: '/chat/completions', query: '?a=b' });
    expect(parseModelsUrl('/proxy/models/')).toBeUndefined();
  });
});

describe('pass-through details', () => {
  it('joins the prefix and the endpoint', () => {
    expect(replicaPath('/v1', '/chat/completions')).toBe('/v1/chat/completions');
    expect(replicaPath('/v1/', '/models')).toBe('/v1/models');
    expect(replicaPath('', '/chat/completions')).toBe('/chat/completions');
    expect(replicaPath('openai/v1', '/completions')).toBe('/openai/v1/completions');
  });

  it('never sends the project token or hop-by-hop headers to the replica', () => {
    expect(requestHeadersForReplica({ authorization: 'Bearer t', host: 'h', connection: 'keep-alive, x-drop', 'x-drop': '1', 'content-type': 'application/json', 'x-stainless-lang': 'js' })).toEqual({
      'content-type': 'application/json',
      'x-stainless-lang': 'js',
    });
    expect(responseHeadersForClient({ 'Transfer-Encoding': 'chunked', Server: 'uvicorn', 'Content-Type': 'text/event-stream' })).toEqual({ 'content-type': 'text/event-stream' });
  });

  it('lists each model name once, as its newest run', () => {
    const e = (name: string, run: string, createdAt: number): ModelEntry => ({ project: 'p', name, run, format: 'openai', prefix: '/v1', createdAt });
    const registry = { list: () => [e('a', 'r1', 1000), e('a', 'r2', 5000), e('b', 'r3', 2000)], find: () => undefined };
    expect(listModels(registry, 'p')).toEqual({
      object: 'list',
      data: [
        { id: 'a', object: 'model', created: 5, owned_by: 'p' },
        { id: 'b', object: 'model', created: 2, owned_by: 'p' },
      ],
    });
  });
});
