// A stand-in for a text-generation-inference replica: /generate and /generate_stream with TGI's shapes
// (details, best_of_sequences, stop sequences, special eos token, error events). The reply is `Hello world`
// unless the prompt contains `REPLY:<text>|`. Directives in the prompt: FAIL_BEFORE (HTTP 422),
// FAIL_FIRST (first stream event is an error), FAIL_AFTER (error after two tokens), HANG (stream until closed).
import { sendJson, serve, sleep } from './common.mjs';

const EOS = '</s>';

function tokensOf(text) {
  return text.match(/\s*\S+/g) ?? [];
}

/** Runs "generation": tokens until a stop sequence completes, max_new_tokens is reached, or eos. */
function generate(inputs, params, variant = 0) {
  const m = /REPLY:([^|]*)\|/.exec(inputs);
  const base = m ? m[1] : 'Hello world';
  const text = variant === 0 ? base : `${base} v${variant}`;
  const stops = params.stop ?? [];
  const max = params.max_new_tokens ?? 100;
  const out = [];
  let acc = '';
  for (const t of tokensOf(text)) {
    out.push({ text: t, special: false });
    acc += t;
    if (stops.some((s) => acc.endsWith(s))) return { tokens: out, text: acc, finish: 'stop_sequence' };
    if (out.length >= max) return { tokens: out, text: acc, finish: 'length' };
  }
  out.push({ text: EOS, special: true });
  return { tokens: out, text: acc, finish: 'eos_token' };
}

const error = (res, status, message, type) => sendJson(res, status, { error: message, error_type: type });

serve(async (req, res, body) => {
  const { inputs = '', parameters: params = {} } = body ?? {};
  const prefill = tokensOf(inputs).map((text, id) => ({ id, text, logprob: null }));
  if (inputs.includes('FAIL_BEFORE')) return error(res, 422, 'Input validation error: `inputs` must not contain FAIL_BEFORE', 'validation');
  if (req.url === '/generate') {
    const g = generate(inputs, params);
    const bestOf = params.best_of ?? 1;
    const others = [];
    for (let i = 1; i < bestOf; i++) {
      const o = generate(inputs, params, i);
      others.push({ generated_text: o.text, finish_reason: o.finish, generated_tokens: o.tokens.length, seed: 1, prefill, tokens: [] });
    }
    return sendJson(res, 200, {
      generated_text: g.text,
      details: { finish_reason: g.finish, generated_tokens: g.tokens.length, seed: 1234, prefill, tokens: [], ...(bestOf > 1 ? { best_of_sequences: others } : {}) },
    });
  }
  if (req.url !== '/generate_stream') return error(res, 404, `no route ${req.url}`, 'not_found');
  if ((params.best_of ?? 1) > 1) return error(res, 422, 'Input validation error: `best_of` != 1 is not supported when streaming tokens', 'validation');
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const send = (obj) => res.write(`data:${JSON.stringify(obj)}\n\n`);
  if (inputs.includes('FAIL_FIRST')) return res.end(`data:${JSON.stringify({ error: 'Request failed during generation: CUDA out of memory', error_type: 'generation' })}\n\n`);
  const event = (token, i, details = null, generated_text = null) => ({ index: i, token: { id: i, text: token.text, logprob: -0.1, special: token.special }, generated_text, details });
  if (inputs.includes('HANG')) {
    for (let i = 0; !res.destroyed; i++) {
      send(event({ text: ' tick', special: false }, i));
      await sleep(20);
    }
    return;
  }
  const g = generate(inputs, params);
  for (const [i, t] of g.tokens.entries()) {
    if (inputs.includes('FAIL_AFTER') && i === 2) {
      send({ error: 'Request failed during generation: CUDA out of memory', error_type: 'generation' });
      return res.end();
    }
    const lastOne = i === g.tokens.length - 1;
    send(event(t, i + 1, lastOne ? { finish_reason: g.finish, generated_tokens: g.tokens.length, seed: 1234, input_length: prefill.length } : null, lastOne ? g.text : null));
  }
  res.end();
});
