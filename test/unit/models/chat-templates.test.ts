import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ModelsApiError } from '../../../src/proxy/models/openai-errors.js';
import { createChatTemplateRenderer } from '../../../src/proxy/models/tgi/template.js';

interface Fixture {
  chat_template: string;
  bos_token: string | null;
  eos_token: string;
}
const dir = fileURLToPath(new URL('../../fixtures/chat-templates/', import.meta.url));
const fixture = (name: string): Fixture => JSON.parse(readFileSync(`${dir}${name}.json`, 'utf8')) as Fixture;

const render = createChatTemplateRenderer();
const renderWith = (name: string, messages: unknown[], extra: { tools?: unknown } = {}) => {
  const f = fixture(name);
  return render(f.chat_template, { messages, bosToken: f.bos_token ?? undefined, eosToken: f.eos_token, ...extra });
};

const system = { role: 'system', content: 'Be brief.' };
const conversation = [
  { role: 'user', content: 'Hi!' },
  { role: 'assistant', content: 'Hello.' },
  { role: 'user', content: 'How are you?' },
];

describe('chat templates of real model families', () => {
  it('Llama 3 puts bos_token first and headers around each turn', () => {
    expect(renderWith('llama-3', [system, ...conversation])).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });

  it('Llama 3.1 adds the knowledge and date lines to the system turn', () => {
    expect(renderWith('llama-3.1', [system, { role: 'user', content: ' Hi! ' }])).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n' +
        'Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });

  it('Llama 3.1 renders tools passed with the request into the first user turn', () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
    const prompt = renderWith('llama-3.1', [{ role: 'user', content: 'Weather?' }], { tools });
    expect(prompt).toContain('Environment: ipython\n');
    expect(prompt).toContain('"name": "get_weather"');
    expect(prompt).toContain('Do not use variables.\n\n');
    expect(prompt.endsWith('Weather?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n')).toBe(true);
  });

  it('Mistral v0.2 wraps user turns in [INST] and ends assistant turns with eos_token', () => {
    expect(renderWith('mistral-v0.2', conversation)).toBe('<s>[INST] Hi! [/INST]Hello.</s>[INST] How are you? [/INST]');
  });

  it('Mistral v0.3 folds the system message into the last user turn', () => {
    expect(renderWith('mistral-v0.3', [system, ...conversation])).toBe(
      '<s>[INST] Hi![/INST] Hello.</s>[INST] Be brief.\n\nHow are you?[/INST]',
    );
  });

  it('Qwen2 adds its default system prompt when none is given', () => {
    expect(renderWith('qwen2', [{ role: 'user', content: 'Hi!' }])).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('Gemma calls the assistant "model" and starts with <bos>', () => {
    expect(renderWith('gemma', conversation)).toBe(
      '<bos><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n' +
        '<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n',
    );
  });

  it('Phi-3 tags each role and ends with the assistant tag', () => {
    expect(renderWith('phi-3', [system, { role: 'user', content: 'Hi!' }])).toBe(
      '<|system|>\nBe brief.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\n',
    );
  });

  it('the Llama 2 template of the dstack docs renders from its YAML, escapes included', () => {
    const yaml = parse(readFileSync(`${dir}llama-2-seed.yml`, 'utf8')) as { model: { chat_template: string; eos_token: string } };
    const prompt = render(yaml.model.chat_template, { messages: [system, ...conversation], eosToken: yaml.model.eos_token });
    expect(prompt).toBe('<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi! [/INST] Hello. </s><s>[INST] How are you? [/INST]');
  });
});

describe('template errors and message shapes', () => {
  it("a template's raise_exception becomes a 400 that quotes it", () => {
    let caught: unknown;
    try {
      renderWith('gemma', [system, ...conversation]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ModelsApiError);
    expect((caught as ModelsApiError).status).toBe(400);
    expect((caught as ModelsApiError).message).toContain('System role not supported');
  });

  it('a template that does not parse is a 500 naming chat_template', () => {
    expect(() => render('{% for x in %}', { messages: [] })).toThrow(/chat_template does not parse/);
  });

  it('text content parts and null content become strings', () => {
    const messages = [
      { role: 'user', content: [{ type: 'text', text: 'Hi' }, { type: 'text', text: '!' }] },
      { role: 'assistant', content: null },
      { role: 'user', content: 'Next' },
    ];
    expect(renderWith('mistral-v0.2', messages)).toBe('<s>[INST] Hi! [/INST]</s>[INST] Next [/INST]');
  });
});
