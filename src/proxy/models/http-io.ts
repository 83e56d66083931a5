/**
 * Response writing for the models endpoint: JSON bodies, SSE streams with backpressure, and the abort signal that
 * ties a client's disconnect to the upstream request (a closed client must stop GPU generation upstream).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ModelsApiError } from './openai-errors.js';

export function writeJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

/** Aborts when the client goes away before the response finished. Returns the signal and the listener's cleanup. */
export function abortOnClientClose(req: IncomingMessage, res: ServerResponse): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
  };
  res.on('close', onClose);
  req.on('error', onClose);
  return {
    signal: controller.signal,
    dispose: () => {
      res.off('close', onClose);
      req.off('error', onClose);
    },
  };
}

/** Writes and, when the socket buffer is full, waits for it to drain (or for the client to go away). */
export async function writeWithBackpressure(res: ServerResponse, chunk: string | Buffer): Promise<void> {
  if (res.destroyed || res.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  // Tells an nginx in front of us not to buffer the stream (dstack sets the same header).
  'x-accel-buffering': 'no',
} as const;

/** One OpenAI-style event stream: `data: {json}` chunks, an error event if it fails midway, always `[DONE]`. */
export class SseWriter {
  constructor(private readonly res: ServerResponse) {}

  open(): void {
    this.res.writeHead(200, SSE_HEADERS);
    this.res.flushHeaders();
  }

  data(payload: unknown): Promise<void> {
    return writeWithBackpressure(this.res, `data: ${JSON.stringify(payload)}\n\n`);
  }

  /** The official clients throw an APIError on a `data:` object with an `error` key (as vLLM sends it). */
  error(err: ModelsApiError): Promise<void> {
    return writeWithBackpressure(this.res, `event: error\ndata: ${JSON.stringify(err.toBody())}\n\n`);
  }

  done(): void {
    if (!this.res.destroyed) this.res.end('data: [DONE]\n\n');
  }
}
