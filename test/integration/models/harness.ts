/**
 * The models endpoint as the daemon runs it, minus the daemon: createModelsHandler behind a real node:http
 * server, forwarding through the data plane's real Forwarder (makeForwarder + MemoryRouteTable) to real model
 * server processes on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ModelEntry, ModelRegistry } from '../../../src/proxy/contracts.js';
import { makeForwarder } from '../../../src/proxy/models/forward.js';
import { createModelsHandler } from '../../../src/proxy/models/handler.js';
import { MemoryRouteTable } from '../../../src/proxy/routing/route-table.js';

export interface ModelServer {
  origin: string;
  /** What the replica last received. */
  last(): Promise<{ method: string; path: string; headers: Record<string, string>; body: string } | null>;
  stats(): Promise<{ aborted: number; requests: number }>;
  stop(): void;
}

export async function startModelServer(script: 'openai-server.mjs' | 'tgi-server.mjs', env: Record<string, string> = {}): Promise<ModelServer> {
  const path = fileURLToPath(new URL(`./servers/${script}`, import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [path], { env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening`)));
  });
  const origin = `http://127.0.0.1:${port}`;
  const get = async <T>(p: string): Promise<T> => (await (await fetch(origin + p)).json()) as T;
  return { origin, last: () => get('/__last'), stats: () => get('/__stats'), stop: () => void child.kill('SIGTERM') };
}

export class TestRegistry implements ModelRegistry {
  constructor(private readonly entries: ModelEntry[]) {}
  list(project: string): ModelEntry[] {
    return this.entries.filter((e) => e.project === project);
  }
  find(project: string, name: string): ModelEntry | undefined {
    return this.list(project)
      .filter((e) => e.name === name)
      .sort((a, b) => b.createdAt - a.createdAt)[0];
  }
}

export interface Endpoint {
  baseURL: string;
  routes: MemoryRouteTable;
  close(): Promise<void>;
}

/** `services` maps run name → replica origin (or none, for a run without ready replicas). */
export async function startEndpoint(registry: ModelRegistry, services: Record<string, string | undefined>, tokens: Record<string, string>): Promise<Endpoint> {
  const routes = new MemoryRouteTable();
  for (const [run, origin] of Object.entries(services)) {
    routes.set({
      project: 'main', run, auth: true, stripPrefix: true, rateLimits: [], canScaleFromZero: false, readTimeoutMs: 60_000,
      replicas: origin ? [{ id: `${run}-0`, origin }] : [],
    });
  }
  const handler = createModelsHandler({
    registry,
    forward: makeForwarder(routes),
    authenticate: (project, token) => (token !== undefined && tokens[project] === token ? 'ok' : 'unknown'),
    clock: () => 1_700_000_000_000,
    random: () => 0.25,
  });
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/proxy/models/main/v1`,
    routes,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await routes.close();
    },
  };
}

/** Polls until `check` holds; the vitest timeout bounds it (no timing assertion). */
export async function eventually(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}
