/**
 * The playground: a chat with one model through the model endpoint with `stream: true`, the answer growing as its
 * tokens arrive. Stop aborts the request (the proxy then cancels it upstream); what arrived so far is kept. The
 * conversation lives in the page only.
 */
import { useRef, useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { chunks } from '../api.js';
import { chatBody, chatDeltas, chatPath, describeFailure, type ChatMessage } from '../chat.js';
import { ErrorNote } from '../components.js';

export function Playground({ api, project, model }: { api: Api; project: string; model: string }) {
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [input, setInput] = useState('');
  const [partial, setPartial] = useState<string>();
  const [error, setError] = useState<string>();
  const abort = useRef<AbortController | undefined>(undefined);

  const send = async () => {
    const text = input.trim();
    if (!text || abort.current) return;
    const history: ChatMessage[] = [...messages, { role: 'user', content: text }];
    setMessages(history);
    setInput('');
    setError(undefined);
    setPartial('');
    const controller = new AbortController();
    abort.current = controller;
    let answer = '';
    try {
      const res = await api.raw(chatPath(project), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify(chatBody(model, history)),
        signal: controller.signal,
      });
      if (!res.ok || !res.body) throw new Error(describeFailure(res.status, await res.text()));
      for await (const delta of chatDeltas(chunks(res.body))) {
        answer += delta;
        setPartial(answer);
      }
    } catch (e) {
      if (!controller.signal.aborted) setError(e instanceof Error ? e.message : String(e));
    } finally {
      abort.current = undefined;
      setPartial(undefined);
      if (answer) setMessages([...history, { role: 'assistant', content: controller.signal.aborted ? `${answer} …(stopped)` : answer }]);
    }
  };

  const streaming = partial !== undefined;
  return (
    <section aria-labelledby="playground-title" class="panel playground">
      <h2 id="playground-title">Playground: {model}</h2>
      <ol class="chat" aria-live="polite" aria-label="Conversation">
        {messages.map((m, i) => (
          <li key={i} class={`msg msg-${m.role}`}>
            <span class="who">{m.role === 'user' ? 'You' : model}</span>
            <div class="text">{m.content}</div>
          </li>
        ))}
        {streaming ? (
          <li class="msg msg-assistant streaming" aria-busy="true">
            <span class="who">{model}</span>
            <div class="text">{partial || '…'}</div>
          </li>
        ) : null}
      </ol>
      <ErrorNote error={error} />
      <form
        class="chat-form"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label for="chat-input">Message</label>
        <textarea
          id="chat-input"
          rows={3}
          value={input}
          placeholder="Enter sends, Shift+Enter starts a new line"
          onInput={(e) => setInput(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              void send();
            }
          }}
        />
        <div class="actions">
          <button type="button" onClick={() => (setMessages([]), setError(undefined))} disabled={streaming || messages.length === 0}>
            Clear
          </button>
          {streaming ? (
            <button type="button" class="danger" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          ) : (
            <button type="submit" disabled={input.trim() === ''}>
              Send
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
