/**
 * Apply-time resolution of a `format: tgi` model's chat template and special tokens from the Hugging Face Hub
 * (`<endpoint>/<model>/resolve/main/tokenizer_config.json`, as dstack does at submit). Unlike dstack, an
 * `eos_token` written as an AddedToken object (`{"content": "</s>", …}`) is understood, and `bos_token` is
 * returned so templates that use it render correctly.
 */
import { UserError } from '../../core/errors.js';

export interface TokenizerConfig {
  chatTemplate: string;
  eosToken: string;
  bosToken?: string;
}

export interface FetchTokenizerConfigOptions {
  /** HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) from the service's env; needed for gated and private models. */
  hfToken?: string | undefined;
  fetch?: typeof globalThis.fetch;
  /** HF_ENDPOINT-style base URL; default https://huggingface.co. */
  endpoint?: string;
  /** Aborts a Hub that does not answer; default 15 s. */
  signal?: AbortSignal;
}

const CODE = 'TGI_TEMPLATE_UNAVAILABLE';
const HINT = 'Set `chat_template` and `eos_token` under `model:` in the service configuration (copy them from the model\'s tokenizer_config.json).';

export async function fetchTokenizerConfig(modelName: string, options: FetchTokenizerConfigOptions = {}): Promise<TokenizerConfig> {
  const endpoint = (options.endpoint ?? 'https://huggingface.co').replace(/\/+$/, '');
  const url = `${endpoint}/${modelName.split('/').map(encodeURIComponent).join('/')}/resolve/main/tokenizer_config.json`;
  const doFetch = options.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await doFetch(url, {
      headers: options.hfToken ? { authorization: `Bearer ${options.hfToken}` } : {},
      signal: options.signal ?? AbortSignal.timeout(15_000),
      redirect: 'follow',
    });
  } catch (cause) {
    throw unavailable(`could not reach ${endpoint} to read the chat template of ${modelName}`, cause);
  }
  if (response.status === 401 || response.status === 403) {
    const why = options.hfToken ? 'the HF_TOKEN has no access to it (gated or private model: accept its terms on the Hub)' : 'it is gated or private and no HF_TOKEN is set in env';
    throw unavailable(`${endpoint} refused the tokenizer config of ${modelName} (HTTP ${response.status}): ${why}`);
  }
  if (response.status === 404) throw unavailable(`model ${modelName} has no tokenizer_config.json on ${endpoint} (HTTP 404)`);
  if (!response.ok) throw unavailable(`${endpoint} answered HTTP ${response.status} for the tokenizer config of ${modelName}`);
  let config: Record<string, unknown>;
  try {
    config = (await response.json()) as Record<string, unknown>;
  } catch (cause) {
    throw unavailable(`the tokenizer_config.json of ${modelName} is not valid JSON`, cause);
  }
  return fromConfig(modelName, config);
}

/** Exported for tests: what a tokenizer_config.json object yields. */
export function fromConfig(modelName: string, config: Record<string, unknown>): TokenizerConfig {
  const chatTemplate = templateOf(config.chat_template);
  if (chatTemplate === undefined) throw unavailable(`the tokenizer_config.json of ${modelName} has no chat_template`);
  const eosToken = tokenText(config.eos_token);
  if (eosToken === undefined) throw unavailable(`the tokenizer_config.json of ${modelName} has no eos_token`);
  const bosToken = tokenText(config.bos_token);
  return { chatTemplate, eosToken, ...(bosToken === undefined ? {} : { bosToken }) };
}

/** A string, or (newer tokenizers) a list of named templates of which `default` is the chat one. */
function templateOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (!Array.isArray(value)) return undefined;
  const named = value.filter((t): t is { name: unknown; template: string } => typeof t === 'object' && t !== null && typeof (t as { template?: unknown }).template === 'string');
  return (named.find((t) => t.name === 'default') ?? named[0])?.template;
}

function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return undefined;
}

function unavailable(message: string, cause?: unknown): UserError {
  return new UserError(CODE, `Cannot get the chat template: ${message}`, { hint: HINT, cause });
}
