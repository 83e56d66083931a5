/**
 * The command registry (oclif "explicit" strategy: a bundled single binary cannot scan folders).
 * One import and one entry per command; ids with spaces are written with ':' (`fleet:apply` → `dstack fleet apply`).
 * Command files must not import Ink statically: `dstack --version` and `--json` paths load this whole registry.
 */
import type { Command } from '@oclif/core';
import Apply from './apply.js';
import Attach from './attach.js';
import CatalogRefresh from './catalog.js';
import Fleet from './fleet.js';
import FleetDelete from './fleet-delete.js';
import FleetList from './fleet-list.js';
import Init from './init.js';
import Logs from './logs.js';
import Metrics from './metrics.js';
import Offer from './offer.js';
import Project from './project.js';
import ProjectAdd from './project-add.js';
import ProjectCreate from './project-create.js';
import ProjectDelete from './project-delete.js';
import ProjectList from './project-list.js';
import ProjectMemberAdd from './project-member-add.js';
import ProjectMemberRemove from './project-member-remove.js';
import ProjectSetDefault from './project-set-default.js';
import Ps from './ps.js';
import Run from './run.js';
import Secret from './secret.js';
import SecretDelete from './secret-delete.js';
import SecretGet from './secret-get.js';
import SecretList from './secret-list.js';
import SecretSet from './secret-set.js';
import Server from './server.js';
import ServerMigrate from './server-migrate.js';
import Stop from './stop.js';
import User from './user.js';
import UserCreate from './user-create.js';
import UserDelete from './user-delete.js';
import UserList from './user-list.js';
import Validate from './validate.js';

export const COMMANDS: Record<string, Command.Class> = {
  apply: Apply,
  attach: Attach,
  'catalog:refresh': CatalogRefresh,
  fleet: Fleet,
  'fleet:delete': FleetDelete,
  'fleet:list': FleetList,
  init: Init,
  logs: Logs,
  metrics: Metrics,
  offer: Offer,
  project: Project,
  'project:add': ProjectAdd,
  'project:create': ProjectCreate,
  'project:delete': ProjectDelete,
  'project:list': ProjectList,
  'project:member:add': ProjectMemberAdd,
  'project:member:remove': ProjectMemberRemove,
  'project:set-default': ProjectSetDefault,
  ps: Ps,
  run: Run,
  secret: Secret,
  'secret:delete': SecretDelete,
  'secret:get': SecretGet,
  'secret:list': SecretList,
  'secret:set': SecretSet,
  server: Server,
  'server:migrate': ServerMigrate,
  stop: Stop,
  user: User,
  'user:create': UserCreate,
  'user:delete': UserDelete,
  'user:list': UserList,
  validate: Validate,
};
