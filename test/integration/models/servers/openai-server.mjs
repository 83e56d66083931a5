// A stand-in for an OpenAI-protocol replica (vLLM-like). NAME env tags answers so tests see which replica
// served them. A last user message of `HANG` streams until the client goes away.
import { sendJson, serve, sleep } from './common.mjs';

const name = process.env.NAME ?? 'openai';
const created = 1700000000;

serve(async (req, res, body) => {
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path === '/v1/models') return sendJson(res, 200, { object: 'list', data: [{ id: name, object: 'model' }] });
  if (path === '/v1/embeddings') return sendJson(res, 200, { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } });
  if (path === '/v1/completions') {
    return sendJson(res, 200, { id: 'cmpl-x', object: 'text_completion', created, model: body.model, choices: [{ index: 0, text: `${name}: ${body.prompt}`, finish_reason: 'stop', logprobs: null }] });
  }
  if (path !== '/v1/chat/completions') return sendJson(res, 404, { error: { message: `no route ${path}`, type: 'invalid_request_error', param: null, code: null } });
  const lastUser = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user')?.content;
  const reply = `${name} says hi`;
  if (!body.stream) {
    return sendJson(res, 200, {
      id: 'chatcmpl-x', object: 'chat.completion', created, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
    });
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const chunk = (delta, finish = null) => ({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
  const send = (obj) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
  if (lastUser === 'HANG') {
    send(chunk({ role: 'assistant', content: 'tick' }));
    while (!res.destroyed) {
      await sleep(20);
      send(chunk({ content: ' tick' }));
    }
    return;
  }
  const words = reply.split(/(?= )/);
  words.forEach((w, i) => send(chunk(i === 0 ? { role: 'assistant', content: w } : { content: w })));
  send(chunk({}, 'stop'));
  if (body.stream_options?.include_usage) send({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created, model: body.model, choices: [], usage: { prompt_tokens: 3, completion_tokens: words.length, total_tokens: 3 + words.length } });
  res.end('data: [DONE]\n\n');
});
