import { describe, expect, it } from 'vitest';
import type { ModelEntry } from '../../../src/proxy/contracts.js';
import { ModelsApiError } from '../../../src/proxy/models/openai-errors.js';
import { buildTgiCall, stopList } from '../../../src/proxy/models/tgi/payload.js';
import { createChatTemplateRenderer } from '../../../src/proxy/models/tgi/template.js';

const entry: ModelEntry = {
  project: 'main',
  name: 'mistral',
  run: 'tgi-run',
  format: 'tgi',
  prefix: '/v1',
  chatTemplate: "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}",
  bosToken: '<s>',
  eosToken: '</s>',
  createdAt: 0,
};
const render = createChatTemplateRenderer();
const user = [{ role: 'user', content: 'Hi' }];

describe('OpenAI request → TGI payload', () => {
  it('renders the prompt and maps sampling parameters', () => {
    const call = buildTgiCall('chat', { model: 'mistral', messages: user, max_tokens: 16, temperature: 0.7, top_p: 0.9, seed: 42, stop: ['###'] }, entry, render);
    expect(call.inputs).toBe('<s>[user]Hi');
    expect(call.parameters).toEqual({
      details: true,
      decoder_input_details: true,
      stop: ['###', '</s>'],
      max_new_tokens: 16,
      do_sample: true,
      temperature: 0.7,
      top_p: 0.9,
      seed: 42,
    });
    expect(call.stream).toBe(false);
  });

  it('maps n to best_of, temperature 0 to greedy, and drops top_p 1 (TGI rejects it)', () => {
    const call = buildTgiCall('chat', { model: 'm', messages: user, n: 2, temperature: 0, top_p: 1 }, entry, render);
    expect(call.parameters).toMatchObject({ best_of: 2, do_sample: false });
    expect(call.parameters).not.toHaveProperty('temperature');
    expect(call.parameters).not.toHaveProperty('top_p');
    expect(call.n).toBe(2);
  });

  it('streams without decoder_input_details and accepts max_completion_tokens', () => {
    const call = buildTgiCall('chat', { model: 'm', messages: user, stream: true, max_completion_tokens: 8 }, entry, render);
    expect(call.parameters).toMatchObject({ decoder_input_details: false, max_new_tokens: 8 });
  });

  it('passes a completions prompt through as is', () => {
    expect(buildTgiCall('completions', { model: 'm', prompt: 'Once' }, entry, render).inputs).toBe('Once');
    expect(buildTgiCall('completions', { model: 'm', prompt: ['Once'] }, entry, render).inputs).toBe('Once');
  });

  it.each([
    [{ messages: [] }, 'messages'],
    [{ messages: user, n: 2, stream: true }, 'n'],
    [{ messages: user, n: 1.5 }, 'n'],
    [{ messages: user, max_tokens: 'ten' }, 'max_tokens'],
  ])('rejects %j with a 400 naming %s', (body, param) => {
    let caught: unknown;
    try {
      buildTgiCall('chat', { model: 'm', ...body }, entry, render);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ModelsApiError);
    expect((caught as ModelsApiError).status).toBe(400);
    expect((caught as ModelsApiError).param).toBe(param);
  });

  it('says to set chat_template when the entry has none', () => {
    const { chatTemplate: _, ...bare } = entry;
    expect(() => buildTgiCall('chat', { model: 'm', messages: user }, bare, render)).toThrow(/set chat_template and eos_token/);
  });

  it('stop: a string, a list, eos_token appended once', () => {
    expect(stopList('\n', '</s>')).toEqual(['\n', '</s>']);
    expect(stopList(['</s>', 'x'], '</s>')).toEqual(['</s>', 'x']);
    expect(stopList(undefined, undefined)).toEqual([]);
    expect(stopList('', '</s>')).toEqual(['</s>']);
  });
});
