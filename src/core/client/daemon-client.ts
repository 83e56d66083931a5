/**
 * Typed calls of the control API (src/core/api.ts). Answers are validated with the contract's schemas so a
 * drift between CLI and daemon shows up as one clear BAD_DAEMON_RESPONSE instead of a crash in a renderer.
 */
import type { z } from 'zod';
import { DstackError, InternalError } from '../errors.js';
import { CatalogRefreshResult, FleetPlan, FleetView, Health, OffersResponse, RunMetrics, RunPlan, RunView, type ApplyRequest, type FleetApplyRequest, type FleetPlanRequest, type PlanRequest } from '../api.js';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { AttachInfo } from '../attach/api.js';
import { SecretValue, SecretView, SetSecretResult } from '../api.js';
import { CreateUserResult, MeView, ProjectView, UserView } from '../api.js';
import type { GlobalRole, ProjectRole } from '../state/schema.js';
import { openAttachTunnel } from './attach-tunnel.js';
import { offerQueryString, type OfferQueryInput } from '../catalog/offer-query.js';
import type { CatalogRefreshRequest, RepoInfo } from '../api.js';
import { parseSse } from './sse.js';
import type { Transport } from './transport.js';

export interface LogsQuery {
  replica?: number;
  follow?: boolean;
  /** Unix seconds. */
  since?: number;
}

export class DaemonClient {
  /** `project`: its runs, fleets and secrets are under `/api/projects/<project>/`; absent = the server's default project. */
  constructor(
    readonly transport: Transport,
    readonly health: Health,
    readonly project?: string,
  ) {}

  /** Where the project's routes are (the users and projects routes are not a project's). */
  private get api(): string {
    return this.project === undefined ? '/api' : `/api/projects/${encodeURIComponent(this.project)}`;
  }

  get origin(): string {
    return this.transport.opts.origin;
  }

  async plan(req: PlanRequest, signal?: AbortSignal): Promise<RunPlan> {
    return check(RunPlan, await this.transport.json('POST', `${this.api}/runs/plan`, req, signal), 'plan');
  }

  async apply(req: ApplyRequest, signal?: AbortSignal): Promise<RunView> {
    return check(RunView, await this.transport.json('POST', `${this.api}/runs/apply`, req, signal), 'apply');
  }

  async listRuns(all = false): Promise<RunView[]> {
    const body = await this.transport.json<{ runs?: unknown }>('GET', `${this.api}/runs${all ? '?all=1' : ''}`);
    return (Array.isArray(body.runs) ? body.runs : []).map((r) => check(RunView, r, 'runs'));
  }

  async getRun(name: string): Promise<RunView> {
    return check(RunView, await this.transport.json('GET', `${this.api}/runs/${encodeURIComponent(name)}`), 'run');
  }

  async stopRun(name: string, abort = false): Promise<RunView> {
    return check(RunView, await this.transport.json('POST', `${this.api}/runs/${encodeURIComponent(name)}/stop`, { abort }), 'stop');
  }

  /** Offers cheapest first, with the catalogs their prices come from (only the filters given are sent). */
  async offers(query: OfferQueryInput = {}): Promise<OffersResponse> {
    const qs = offerQueryString(query);
    return check(OffersResponse, await this.transport.json('GET', `${this.api}/offers${qs ? `?${qs}` : ''}`), 'offers');
  }

  /** Fetches fresh catalogs into DSTACK_HOME/server/catalog (the daemon does it: it holds the clouds' credentials). */
  async refreshCatalog(req: CatalogRefreshRequest): Promise<CatalogRefreshResult> {
    return check(CatalogRefreshResult, await this.transport.json('POST', `${this.api}/catalog/refresh`, req), 'catalog refresh');
  }

  /** Raw log bytes of one replica, as the agent stored them (never re-encoded). */
  async logs(name: string, q: LogsQuery = {}, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    const qs = new URLSearchParams();
    if (q.replica !== undefined) qs.set('replica', String(q.replica));
    if (q.follow) qs.set('follow', '1');
    if (q.since !== undefined) qs.set('since', String(q.since));
    const query = qs.toString();
    return (await this.transport.stream(`${this.api}/runs/${encodeURIComponent(name)}/logs${query ? `?${query}` : ''}`, signal)).body;
  }

  /** Which replica `dstack attach` gets (`replica` undefined: the first running one) and the run's service port. */
  async attachInfo(name: string, replica?: number): Promise<AttachInfo> {
    const qs = replica === undefined ? '' : `?replica=${replica}`;
    return check(AttachInfo, await this.transport.json('GET', `${this.api}/runs/${encodeURIComponent(name)}/attach${qs}`), 'attach');
  }

  /** A raw stream to `port` of replica `replica`, through the daemon (it holds the hosts' connections). */
  openAttach(name: string, replica: number, port: number): Promise<Socket> {
    return openAttachTunnel(this.transport.opts, `${this.api}/runs/${encodeURIComponent(name)}/attach?replica=${replica}&port=${port}`);
  }

  /** CPU, memory and GPUs of each active replica, sampled by the agents now (takes about a second). */
  async runMetrics(name: string, signal?: AbortSignal): Promise<RunMetrics> {
    return check(RunMetrics, await this.transport.json('GET', `${this.api}/runs/${encodeURIComponent(name)}/metrics`, undefined, signal), 'metrics');
  }

  /** RunView snapshots on every change, until the daemon ends the stream or `signal` aborts. */
  async *events(name: string, signal?: AbortSignal): AsyncGenerator<RunView> {
    const res = await this.transport.stream(`${this.api}/runs/${encodeURIComponent(name)}/events`, signal);
    for await (const ev of parseSse(res.body)) {
      if (ev.event !== 'message' && ev.event !== 'run') continue;
      let data: unknown;
      try {
        data = JSON.parse(ev.data);
      } catch {
        continue;
      }
      yield check(RunView, data, 'events');
    }
  }

  /**
   * Run snapshots: the events stream, or polling `GET /api/runs/:name` every second when the daemon has no
   * events route (404/405 without a RUN_NOT_FOUND code), so progress works against either.
   */
  async *watch(name: string, signal?: AbortSignal, pollMs = 1000): AsyncGenerator<RunView> {
    try {
      yield* this.events(name, signal);
      return;
    } catch (e) {
      if (!(e instanceof DstackError) || !['HTTP_404', 'HTTP_405'].includes(e.code)) throw e;
    }
    while (!signal?.aborted) {
      yield await this.getRun(name);
      await abortableSleep(pollMs, signal);
    }
  }

  async planFleet(req: FleetPlanRequest, signal?: AbortSignal): Promise<FleetPlan> {
    return check(FleetPlan, await this.transport.json('POST', `${this.api}/fleets/plan`, req, signal), 'fleet plan');
  }

  async applyFleet(req: FleetApplyRequest, signal?: AbortSignal): Promise<FleetView> {
    return check(FleetView, await this.transport.json('POST', `${this.api}/fleets/apply`, req, signal), 'fleet apply');
  }

  async listFleets(all = false): Promise<FleetView[]> {
    const body = await this.transport.json<{ fleets?: unknown }>('GET', `${this.api}/fleets${all ? '?all=1' : ''}`);
    return (Array.isArray(body.fleets) ? body.fleets : []).map((f) => check(FleetView, f, 'fleets'));
  }

  async getFleet(name: string): Promise<FleetView> {
    return check(FleetView, await this.transport.json('GET', `${this.api}/fleets/${encodeURIComponent(name)}`), 'fleet');
  }

  /** `force` also takes out hosts that still run replicas (the daemon refuses otherwise). */
  async deleteFleet(name: string, force = false): Promise<FleetView> {
    return check(FleetView, await this.transport.json('DELETE', `${this.api}/fleets/${encodeURIComponent(name)}${force ? '?force=1' : ''}`), 'fleet delete');
  }

  /** FleetView snapshots on every change, until the daemon ends the stream or `signal` aborts. */
  async *fleetEvents(name: string, signal?: AbortSignal): AsyncGenerator<FleetView> {
    const res = await this.transport.stream(`${this.api}/fleets/${encodeURIComponent(name)}/events`, signal);
    for await (const ev of parseSse(res.body)) {
      if (ev.event !== 'message' && ev.event !== 'fleet') continue;
      let data: unknown;
      try {
        data = JSON.parse(ev.data);
      } catch {
        continue;
      }
      yield check(FleetView, data, 'fleet events');
    }
  }

  /** Fleet snapshots: the events stream, or polling `GET /api/fleets/:name` when the daemon has no events route. */
  async *watchFleet(name: string, signal?: AbortSignal, pollMs = 1000): AsyncGenerator<FleetView> {
    try {
      yield* this.fleetEvents(name, signal);
      return;
    } catch (e) {
      if (!(e instanceof DstackError) || !['HTTP_404', 'HTTP_405'].includes(e.code)) throw e;
    }
    while (!signal?.aborted) {
      yield await this.getFleet(name);
      await abortableSleep(pollMs, signal);
    }
  }

  /** The project's secrets: names and dates only. */
  async listSecrets(): Promise<SecretView[]> {
    const body = await this.transport.json<{ secrets?: unknown }>('GET', `${this.api}/secrets`);
    return (Array.isArray(body.secrets) ? body.secrets : []).map((x) => check(SecretView, x, 'secrets'));
  }

  /** One secret with its value (`dstack secret get`). */
  async getSecret(name: string): Promise<SecretValue> {
    return check(SecretValue, await this.transport.json('GET', `${this.api}/secrets/${encodeURIComponent(name)}`), 'secret');
  }

  async setSecret(name: string, value: string): Promise<SetSecretResult> {
    return check(SetSecretResult, await this.transport.json('PUT', `${this.api}/secrets/${encodeURIComponent(name)}`, { value }), 'secret set');
  }

  async deleteSecret(name: string): Promise<SecretView> {
    return check(SecretView, await this.transport.json('DELETE', `${this.api}/secrets/${encodeURIComponent(name)}`), 'secret delete');
  }

  /**
   * A server on another machine cannot read the CLI's code archive: it gets it once per content (HEAD, then PUT only
   * when missing; content-addressed by sha256). The local daemon reads DSTACK_HOME/archives itself. Returns the
   * bytes sent (0: none).
   */
  async ensureArchive(repo: Pick<RepoInfo, 'sha256' | 'archivePath'>): Promise<number> {
    if (!this.transport.opts.remote && !this.health.role) return 0;
    const path = `${this.api}/archives/${repo.sha256}`;
    if ((await this.transport.head(path)) === 200) return 0;
    const { size } = await stat(repo.archivePath);
    await this.transport.putBytes(path, createReadStream(repo.archivePath), size);
    return size;
  }

  /** Who the token belongs to. */
  async me(): Promise<MeView> {
    return check(MeView, await this.transport.json('GET', '/api/me'), 'me');
  }

  async listUsers(): Promise<UserView[]> {
    const body = await this.transport.json<{ users?: unknown }>('GET', '/api/users');
    return (Array.isArray(body.users) ? body.users : []).map((x) => check(UserView, x, 'users'));
  }

  /** The answer holds the new user's token: the server keeps only its hash, so this is the one time it is seen. */
  async createUser(name: string, globalRole: GlobalRole): Promise<CreateUserResult> {
    return check(CreateUserResult, await this.transport.json('POST', '/api/users', { name, globalRole }), 'user create');
  }

  async deleteUser(name: string): Promise<UserView> {
    return check(UserView, await this.transport.json('DELETE', `/api/users/${encodeURIComponent(name)}`), 'user delete');
  }

  /** The caller's projects (every project for a global admin). */
  async listProjects(): Promise<ProjectView[]> {
    const body = await this.transport.json<{ projects?: unknown }>('GET', '/api/projects');
    return (Array.isArray(body.projects) ? body.projects : []).map((x) => check(ProjectView, x, 'projects'));
  }

  async createProject(name: string): Promise<ProjectView> {
    return check(ProjectView, await this.transport.json('POST', '/api/projects', { name }), 'project create');
  }

  async deleteProject(name: string): Promise<ProjectView> {
    return check(ProjectView, await this.transport.json('DELETE', `/api/projects/${encodeURIComponent(name)}`), 'project delete');
  }

  /** Adds the user to the project, or changes the member's role. */
  async addProjectMember(project: string, user: string, role: ProjectRole): Promise<ProjectView> {
    return check(ProjectView, await this.transport.json('POST', `/api/projects/${encodeURIComponent(project)}/members`, { user, role }), 'member add');
  }

  async removeProjectMember(project: string, user: string): Promise<ProjectView> {
    const path = `/api/projects/${encodeURIComponent(project)}/members/${encodeURIComponent(user)}`;
    return check(ProjectView, await this.transport.json('DELETE', path), 'member remove');
  }

  /** The admin token: the CLI shows it to the user only on a terminal (apply's auth hint). */
  get token(): string {
    return this.transport.opts.token;
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

function check<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new InternalError('BAD_DAEMON_RESPONSE', `The daemon's ${what} answer does not match the control API: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`, {
    hint: 'The CLI and the daemon may be different versions: stop the daemon and run the command again.',
  });
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
