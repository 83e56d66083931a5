import type { IncomingMessage, ServerResponse } from 'node:http';
import { AgentError, toAgentError } from '../errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Every failure is `{code, message}` JSON with the error's HTTP status (the contract of agent-api.ts). */
export function sendError(res: ServerResponse, e: unknown): void {
  const err = toAgentError(e);
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  sendJson(res, err.status, err.toWire());
}

/** Reads a JSON body, bounded so a runaway client cannot exhaust memory. */
export async function readJson(req: IncomingMessage, limitBytes = 1024 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new AgentError('BODY_TOO_LARGE', `request body is over ${limitBytes} bytes`, 413);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AgentError('INVALID_JSON', 'request body is not valid JSON', 400);
  }
}
