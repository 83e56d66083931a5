/** The pure parts of the Run page's plots and the Models page: history merging, chat streams, snippets, routes. */
import { describe, expect, it } from 'vitest';
import { ChatError, chatBody, chatDeltas, chatPath, describeFailure, modelsPath } from '../../../src/web/chat.js';
import { columns, historyPath, mergePoints, type HistoryPoint } from '../../../src/web/history-data.js';
import { hrefOf, parseRoute, sectionOf } from '../../../src/web/router.js';
import { openaiSnippets } from '../../../src/web/snippets.js';

const p = (t: number, rps = 0): HistoryPoint => ({ t, rps, inFlight: 0, p50: 0, p99: 0, desired: 1, ready: 1 });

async function* from(...parts: string[]): AsyncGenerator<string> {
  yield* parts;
}
async function all(gen: AsyncGenerator<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const x of gen) out.push(x);
  return out;
}
const chunk = (content: string | null) => `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })}\n\n`;

describe('plot history', () => {
  it('appends only newer points and keeps the last hour', () => {
    expect(mergePoints([p(1), p(2)], [p(2), p(3)]).map((x) => x.t)).toEqual([1, 2, 3]);
    const old = [p(1)];
    expect(mergePoints(old, [p(1)])).toBe(old);
    expect(mergePoints([p(1), p(2), p(3)], [p(4)], 3).map((x) => x.t)).toEqual([2, 3, 4]);
  });

  it('gives uPlot the times then one column per line, and asks only for points after the last', () => {
    expect(columns([p(5, 1.5), p(10, 2)], ['rps', 'ready'])).toEqual([[5, 10], [1.5, 2], [1, 1]]);
    expect(historyPath('a b')).toBe('/api/runs/a%20b/history');
    expect(historyPath('svc', 1700)).toBe('/api/runs/svc/history?after=1700');
  });
});

describe('playground stream', () => {
  it('yields the text of each chunk until [DONE], across split chunks', async () => {
    const text = chunk('echo:') + chunk(' hi') + chunk(null) + 'data: [DONE]\n\n' + chunk('after');
    expect(await all(chatDeltas(from(text.slice(0, 30), text.slice(30))))).toEqual(['echo:', ' hi']);
  });

  it('turns an error event or a non-JSON event into a ChatError', async () => {
    await expect(all(chatDeltas(from(chunk('a'), 'data: {"error":{"message":"out of memory"}}\n\n')))).rejects.toThrow(new ChatError('out of memory'));
    await expect(all(chatDeltas(from('data: <html>\n\n')))).rejects.toThrow(/not JSON: <html>/);
  });

  it('describes failed answers from the OpenAI error body or the status', () => {
    expect(describeFailure(404, '{"error":{"message":"Model x not found in project main"}}')).toBe('The model endpoint answered 404: Model x not found in project main');
    expect(describeFailure(502, '')).toBe('The model endpoint answered 502');
    expect(describeFailure(503, 'upstream down\n')).toBe('The model endpoint answered 503: upstream down');
  });

  it('asks for a stream from the project’s endpoint', () => {
    expect(chatPath('my proj')).toBe('/proxy/models/my%20proj/v1/chat/completions');
    expect(modelsPath('main')).toBe('/proxy/models/main/v1/models');
    expect(chatBody('m', [{ role: 'user', content: 'x' }])).toEqual({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true });
  });
});

describe('models page', () => {
  it('writes openai snippets with the endpoint and model quoted, the token from the environment', () => {
    const [py, js] = openaiSnippets('http://h:3000/proxy/models/main/v1/', 'org/"m"');
    expect(py!.code).toContain('OpenAI(base_url="http://h:3000/proxy/models/main/v1/", api_key=os.environ["DSTACK_TOKEN"])');
    expect(py!.code).toContain('model="org/\\"m\\"",');
    expect(js!.code).toContain('new OpenAI({ baseURL: "http://h:3000/proxy/models/main/v1/", apiKey: process.env.DSTACK_TOKEN })');
  });

  it.each([
    ['#/models', { page: 'models' }],
    ['#/models/', { page: 'models' }],
    ['#/models/org/llm-1', { page: 'models', model: 'org/llm-1' }],
    ['#/models/a%20b', { page: 'models', model: 'a b' }],
    ['#/models/%E0%A4%A', { page: 'models' }],
  ])('%s is %o', (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
  });

  it('writes model URLs that read back, under Models', () => {
    for (const route of [{ page: 'models' }, { page: 'models', model: 'org/a b' }] as const) expect(parseRoute(hrefOf(route))).toEqual(route);
    expect(sectionOf({ page: 'models', model: 'x' })).toBe('models');
  });
});
