/**
 * A project's part of the control plane (issue 17): its run operations, fleets, secrets, catalog and clouds, made
 * on first use for a project that exists (projects come and go at runtime) over what every project shares: the
 * store, the reconcile loop, the route table, events, the local machine and the SSH backend. A project's clouds are
 * its config.yml `projects[].backends`; a project created through the API has none (the local machine and its own
 * SSH fleets).
 */
import type { HomeConfig } from '../../core/home/config-file.js';
import type { HomePaths } from '../../core/home/paths.js';
import type { BackendConfig } from '../../core/home/backends-config.js';
import type { SecretStore } from '../../core/secrets/index.js';
import type { StateStore } from '../../core/state/store.js';
import { catalogInfo } from '../../core/catalog/answer.js';
import { catalogOffers } from '../../core/catalog/offers.js';
import { AwsCompute } from '../../backends/aws/index.js';
import type { Backend } from '../../backends/backend.js';
import { CatalogService } from '../../backends/catalog/service.js';
import { CloudBackend, type CloudBackendOptions } from '../../backends/cloud/index.js';
import { CompositeBackend } from '../../backends/composite.js';
import { GcpCompute } from '../../backends/gcp/index.js';
import { fetchTokenizerConfig } from '../../proxy/models/hf.js';
import type { RunEvents } from '../api/events.js';
import { FleetManager, parseFleetConfig } from '../fleets/fleets.js';
import { instanceProject } from '../fleets/project-state.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import { configLanguage } from '../runs/config-language.js';
import { ControlPlane } from '../runs/control.js';
import type { ViewContext } from '../runs/views.js';
import { SecretsControl } from '../secrets/control.js';

export interface ProjectScope {
  project: string;
  control: ControlPlane;
  fleets: FleetManager;
  secrets: SecretsControl;
  clouds: readonly CloudBackend[];
  /** Whether a run of this project with `backends:` goes to fleet instances (its own fleets, its clouds). */
  usesFleets: (backends: readonly string[] | undefined) => boolean;
}

export interface ProjectScopesDeps {
  store: StateStore;
  secrets: SecretStore;
  home: HomeConfig;
  paths: HomePaths;
  env: NodeJS.ProcessEnv;
  clock: () => number;
  log: (line: string) => void;
  local: Backend;
  ssh: ConstructorParameters<typeof FleetManager>[0]['ssh'] & Backend;
  /** What every cloud backend shares (known hosts, reachability, agent settings). */
  cloudOptions: Omit<CloudBackendOptions, 'compute'>;
  reconciler: () => Reconciler;
  events: RunEvents;
  fleetEvents: RunEvents;
  view: ViewContext;
}

const localOnly = (backends: readonly string[] | undefined): boolean => backends !== undefined && backends.length > 0 && backends.every((b) => b === 'local');

export class ProjectScopes {
  private readonly scopes = new Map<string, ProjectScope>();

  constructor(private readonly d: ProjectScopesDeps) {}

  get defaultProject(): string {
    return this.d.home.default_project;
  }

  /** Whether `project` exists: a project record, or a project of config.yml (records are made at start). */
  exists(project: string): boolean {
    return this.d.store.project(project) !== undefined || project === this.defaultProject || this.d.home.projects.some((p) => p.name === project);
  }

  /** The scope of an existing project, made on first use; undefined = no such project. */
  get(project: string): ProjectScope | undefined {
    const made = this.scopes.get(project);
    if (made) return made;
    if (!this.exists(project)) return undefined;
    const scope = this.make(project);
    this.scopes.set(project, scope);
    return scope;
  }

  /** Every existing project's scope (made now where missing), e.g. to resume their fleets after a restart. */
  all(): ProjectScope[] {
    const names = new Set([this.defaultProject, ...this.d.home.projects.map((p) => p.name), ...this.d.store.projects().map((p) => p.name), ...this.scopes.keys()]);
    return [...names].flatMap((n) => this.get(n) ?? []);
  }

  /** The scopes made so far (no new one): the reconciler's backends and ticks. */
  made(): ProjectScope[] {
    return [...this.scopes.values()];
  }

  busy(instance: string): boolean {
    return this.made().some((s) => s.fleets.isBusy(instance));
  }

  private make(project: string): ProjectScope {
    const { store, env, clock, log, paths } = this.d;
    const configured: readonly BackendConfig[] = this.d.home.projects.find((p) => p.name === project)?.backends ?? [];
    // Cloud offers come from catalogs (shipped, or refreshed under serverDir/catalog) and need no credentials.
    const catalog = new CatalogService({ serverDir: paths.serverDir, backends: configured, project, env, clock });
    const clouds = configured.map((config, backendIndex) => {
      const common = { project, env, backendIndex, loadCatalog: () => catalog.load(config.type), catalogOffers };
      const compute = config.type === 'gcp' ? new GcpCompute({ config, ...common }) : new AwsCompute({ config, ...common });
      return new CloudBackend({ compute, ...this.d.cloudOptions });
    });
    const owns = (instance: string): boolean => {
      const rec = store.instance(instance);
      return rec !== undefined && instanceProject(rec, this.defaultProject) === project;
    };
    const backend = new CompositeBackend([this.d.local, this.d.ssh, ...clouds], (instance) => store.instance(instance)?.backend, owns);
    // A cloud fleet takes runs before it has any instance: it creates them for the replicas that wait.
    const usesFleets = (backends: readonly string[] | undefined) => backend.usesFleets(backends) || (fleets.cloudFleets().length > 0 && !localOnly(backends));
    const fleets: FleetManager = new FleetManager({
      store,
      ssh: this.d.ssh,
      clouds,
      configFile: paths.configFile,
      catalogInfo: async (provider) => catalogInfo(await catalog.load(provider)),
      events: this.d.fleetEvents,
      parseFleet: parseFleetConfig,
      project,
      defaultProject: this.defaultProject,
      busyElsewhere: (instance) => this.made().some((s) => s.project !== project && s.fleets.isBusy(instance)),
      clock,
      log,
      onCapacity: () => this.d.reconciler().kick(),
      onInstanceRemoved: (instance, why) => this.d.reconciler().forgetInstance(instance, why),
      ...(env.HOME ? { homeDir: env.HOME } : {}),
    });
    const control = new ControlPlane({
      store,
      backend,
      catalog,
      reconciler: this.d.reconciler(),
      events: this.d.events,
      view: this.d.view,
      project,
      user: this.d.home.user,
      clock,
      env,
      usesFleets,
      cloudFleets: () => fleets.cloudFleets(),
      secrets: () => this.d.secrets.values(project),
      ...configLanguage(),
      resolveTokenizer: (model, hfToken) => fetchTokenizerConfig(model, { hfToken }),
    });
    const secrets = new SecretsControl({ store: this.d.secrets, project });
    return { project, control, fleets, secrets, clouds, usesFleets };
  }
}
