import { describe, expect, it } from 'vitest';
import { completionId, mapFinishReason, toCompletion, type CompletionMeta } from '../../../src/proxy/models/tgi/convert.js';
import { StopHoldback } from '../../../src/proxy/models/tgi/stop-holdback.js';
import { TgiStreamConverter } from '../../../src/proxy/models/tgi/stream-converter.js';
import type { TgiStreamEvent } from '../../../src/proxy/models/tgi/tgi-types.js';
import { ModelsApiError } from '../../../src/proxy/models/openai-errors.js';

const meta: CompletionMeta = { kind: 'chat', id: 'chatcmpl-1', created: 1700000000, model: 'm', systemFingerprint: 'fp_7' };
const tok = (text: string, special = false): TgiStreamEvent => ({ token: { id: 1, text, special }, details: null });
const last = (text: string, finish: string, special = false): TgiStreamEvent => ({
  token: { id: 2, text, special },
  details: { finish_reason: finish, generated_tokens: 3, input_length: 5 },
});

describe('TGI /generate → chat.completion', () => {
  it('builds choices from generated_text and best_of_sequences, trims stops, sums usage', () => {
    const out = toCompletion(meta, {
      generated_text: 'Hello</s>',
      details: {
        finish_reason: 'eos_token',
        generated_tokens: 2,
        prefill: [{}, {}, {}],
        best_of_sequences: [{ generated_text: 'Hey###', finish_reason: 'stop_sequence', generated_tokens: 3 }],
      },
    }, ['###', '</s>']);
    expect(out).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1700000000,
      model: 'm',
      system_fingerprint: 'fp_7',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Hello' }, logprobs: null, finish_reason: 'stop' },
        { index: 1, message: { role: 'assistant', content: 'Hey' }, logprobs: null, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
    });
  });

  it('keeps text ending like a stop sequence when the reason is length', () => {
    const out = toCompletion({ ...meta, kind: 'completions' }, { generated_text: 'a###', details: { finish_reason: 'length', generated_tokens: 4 } }, ['###']);
    expect(out.object).toBe('text_completion');
    expect(out.choices[0]).toEqual({ index: 0, text: 'a###', logprobs: null, finish_reason: 'length' });
  });

  it('maps finish reasons and rejects unknown ones', () => {
    expect(mapFinishReason('length')).toBe('length');
    expect(mapFinishReason('stop_sequence')).toBe('stop');
    expect(mapFinishReason('eos_token')).toBe('stop');
    expect(() => mapFinishReason('cancelled')).toThrow(ModelsApiError);
  });

  it('ids come from the injected random source', () => {
    expect(completionId('chat', () => 0.5)).toBe(`chatcmpl-${'8'.repeat(24)}`);
    expect(completionId('completions', () => 0)).toBe(`cmpl-${'0'.repeat(24)}`);
  });
});

describe('stop sequences while streaming', () => {
  it('holds back text that may start a stop sequence, releases it when it does not', () => {
    const h = new StopHoldback(['</s>', '###']);
    expect(h.push('Hello <')).toBe('Hello ');
    expect(h.push('b>')).toBe('<b>');
    expect(h.push(' #')).toBe(' ');
    expect(h.push('#')).toBe('');
    expect(h.finish('#', true)).toBe('');
  });

  it('a stop sequence split over tokens never reaches the client', () => {
    const h = new StopHoldback(['</s>']);
    const sent = [h.push('Hi'), h.push('</'), h.push('s')].join('') + h.finish('>', true);
    expect(sent).toBe('Hi');
  });

  it('without stops, text passes straight through', () => {
    expect(new StopHoldback([]).push('<')).toBe('<');
  });
});

describe('TGI stream events → chunks', () => {
  it('role in the first delta, finish_reason on the last, usage chunk on request', () => {
    const c = new TgiStreamConverter(meta, ['</s>'], true);
    const chunks = [tok('Hel'), tok('lo'), last('</s>', 'eos_token', true)].flatMap((e) => c.next(e));
    expect(chunks).toEqual([
      { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'm', system_fingerprint: 'fp_7', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, logprobs: null, finish_reason: null }] },
      { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'm', system_fingerprint: 'fp_7', choices: [{ index: 0, delta: { content: 'lo' }, logprobs: null, finish_reason: null }] },
      { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'm', system_fingerprint: 'fp_7', choices: [{ index: 0, delta: { content: '' }, logprobs: null, finish_reason: 'stop' }] },
      { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'm', system_fingerprint: 'fp_7', choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } },
    ]);
    expect(c.done).toBe(true);
  });

  it('keeps the last token when generation stopped at max_tokens', () => {
    const c = new TgiStreamConverter({ ...meta, kind: 'completions' }, [], false);
    const chunks = [tok('a'), last('b', 'length')].flatMap((e) => c.next(e)) as { choices: { text: string; finish_reason: string | null }[] }[];
    expect(chunks.map((x) => x.choices[0])).toEqual([
      { index: 0, text: 'a', logprobs: null, finish_reason: null },
      { index: 0, text: 'b', logprobs: null, finish_reason: 'length' },
    ]);
  });

  it('an error event throws, mapped by error_type', () => {
    const c = new TgiStreamConverter(meta, [], false);
    expect(() => c.next({ error: 'Input validation error', error_type: 'validation' })).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => c.next({ error: 'CUDA OOM', error_type: 'generation' })).toThrow(expect.objectContaining({ status: 500 }));
  });
});
