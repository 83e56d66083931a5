/**
 * Chat templates (the Jinja `chat_template` of a model's tokenizer_config.json) rendered with @huggingface/jinja,
 * which lexes with `trim_blocks` and `lstrip_blocks` as transformers does. Unlike dstack we pass `bos_token`
 * and `eos_token`, so templates that use them (Llama 3, Mistral, Phi-3…) work without hand edits.
 */
import { Template } from '@huggingface/jinja';
import { ModelsApiError, invalidRequest } from '../openai-errors.js';

export interface ChatTemplateVars {
  messages: unknown[];
  bosToken?: string | undefined;
  eosToken?: string | undefined;
  /** Passed when the request has tools: tool-aware templates (Llama 3.1, Mistral v0.3) render them. */
  tools?: unknown;
  addGenerationPrompt?: boolean;
}

export type RenderChat = (template: string, vars: ChatTemplateVars) => string;

/** Parses each distinct template once; bounded so a daemon with many models does not grow without limit. */
export function createChatTemplateRenderer(maxTemplates = 32): RenderChat {
  const parsed = new Map<string, Template>();
  const compile = (source: string): Template => {
    const hit = parsed.get(source);
    if (hit) return hit;
    let template: Template;
    try {
      template = new Template(source);
    } catch (err) {
      throw new ModelsApiError(500, `The model's chat_template does not parse: ${messageOf(err)}`, 'server_error', 'invalid_chat_template');
    }
    if (parsed.size >= maxTemplates) parsed.delete(parsed.keys().next().value as string);
    parsed.set(source, template);
    return template;
  };
  return (source, vars) => {
    const template = compile(source);
    try {
      return template.render({
        messages: vars.messages.map(normalizeMessage),
        add_generation_prompt: vars.addGenerationPrompt ?? true,
        bos_token: vars.bosToken ?? '',
        eos_token: vars.eosToken ?? '',
        ...(vars.tools === undefined ? {} : { tools: vars.tools }),
      });
    } catch (err) {
      // Render errors come from the messages (e.g. `raise_exception('Conversation roles must alternate…')`).
      throw invalidRequest(`The chat template rejected the messages: ${messageOf(err)}`, 'messages', 'chat_template_error');
    }
  };
}

/**
 * Most templates concatenate `message['content']` as a string. OpenAI clients may send text as an array of
 * `{type: 'text'}` parts, or `null` content on assistant tool-call turns; those become plain strings.
 */
export function normalizeMessage(message: unknown): unknown {
  if (typeof message !== 'object' || message === null) return message;
  const m = message as Record<string, unknown>;
  const content = m.content;
  if (content === null || content === undefined) return { ...m, content: '' };
  if (Array.isArray(content) && content.every(isTextPart)) {
    return { ...m, content: content.map((p) => (p as { text: string }).text).join('') };
  }
  return m;
}

function isTextPart(p: unknown): boolean {
  return typeof p === 'object' && p !== null && (p as { type?: unknown }).type === 'text' && typeof (p as { text?: unknown }).text === 'string';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
