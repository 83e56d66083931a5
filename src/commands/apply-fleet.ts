/**
 * The fleet branch of `dstack apply` (`type: fleet`): resolve env and key paths, show the plan (hosts to add,
 * keep or remove), confirm, apply, then follow every host's provisioning until each joined or failed. Hosts are
 * provisioned by the daemon, so Ctrl+C or -d only stop watching.
 */
import { access, constants } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { FleetView } from '../core/api.js';
import { connectDaemon, type DaemonClient } from '../core/client/index.js';
import { resolveEnv, type LoadedConfig } from '../core/config/load.js';
import { UserError } from '../core/errors.js';
import type { Painter } from '../ui/colors.js';
import { fleetPlanDecision, renderFleetPlan } from '../ui/fleet-plan.js';
import { hostLabel, hostState, onDemandMessage } from '../ui/fleet-progress.js';
import { watchFleetApply } from '../ui/fleet-progress.watch.js';
import { isCloudFleet, renderFleetsTable } from '../ui/fleets-table.js';
import type { CommandIo } from './base.js';

/** What the fleet branch needs of the `apply` command that dispatched to it. */
export interface FleetApplyCommand {
  print(text?: string): void;
  note(text?: string): void;
  printJson(value: unknown): void;
  painter(stream?: NodeJS.WriteStream): Painter;
  confirmOrFail(question: string): Promise<boolean>;
}

export interface FleetApplyFlags {
  yes: boolean;
  detach: boolean;
  force: boolean;
  json: boolean;
  name?: string | undefined;
  /** `-f -`: no path for the daemon's records (key paths are already resolved against the current folder). */
  fromStdin?: boolean;
}

export async function applyFleet(cmd: FleetApplyCommand, io: CommandIo, file: LoadedConfig, env: Record<string, string>, flags: FleetApplyFlags): Promise<void> {
  const config = resolveEnv(file.raw, env, io.env) as Record<string, unknown>;
  if (flags.name) config.name = flags.name;
  await resolveIdentityFiles(config, file.path, io.env);
  const out = (text: string) => (flags.json ? cmd.note(text) : cmd.print(text));
  const fleetConfig = file.config.type === 'fleet' ? file.config : undefined;
  const placement = fleetConfig?.placement ?? 'any';
  const client = await connectDaemon({ env: io.env });
  try {
    const configPath = flags.fromStdin ? undefined : resolve(file.path);
    const plan = await client.planFleet({ config, configPath });
    const planStream = flags.json ? io.stderr : io.stdout;
    const planOptions = { configPath: file.path, placement, ...(fleetConfig ? { config: fleetConfig } : {}), painter: cmd.painter(planStream), width: planStream.columns };
    out(renderFleetPlan(plan, planOptions) + '\n');
    const decision = fleetPlanDecision(plan, { force: Boolean(flags.force) });
    if (decision.message) out(decision.message);
    if (decision.stop) return;
    if (decision.question && !flags.yes && !(await cmd.confirmOrFail(decision.question))) return out('Exiting...');
    const applied = await client.applyFleet({ config, configPath, force: Boolean(flags.force) });
    if (flags.detach) {
      cmd.note(`Fleet ${applied.name} ${plan.action === 'create' ? 'submitted' : 'updated'}, detaching...`);
      return flags.json ? cmd.printJson(applied) : undefined;
    }
    await follow(cmd, io, client, applied, flags.json);
  } finally {
    await client.close();
  }
}

async function follow(cmd: FleetApplyCommand, io: CommandIo, client: DaemonClient, applied: FleetView, json: boolean): Promise<void> {
  const { fleet, outcome } = await watchFleetApply({
    initial: applied,
    events: (signal) => client.watchFleet(applied.name, signal),
    stream: io.stderr,
    tty: Boolean(io.stderr.isTTY) && !io.env.CI,
    color: cmd.painter(io.stderr).enabled,
    onInterrupt: (handler) => (process.on('SIGINT', handler), () => void process.off('SIGINT', handler)),
  });
  if (outcome.kind !== 'settled' && outcome.kind !== 'on-demand') {
    return cmd.note(`Detached from fleet ${fleet.name}; its hosts keep provisioning in the daemon. Follow them with \`dstack fleet\`.`);
  }
  if (json) cmd.printJson(fleet);
  else cmd.print(renderFleetsTable([fleet], { now: Date.now(), painter: cmd.painter(), width: io.stdout.columns }));
  const cloud = isCloudFleet(fleet);
  if (outcome.kind === 'on-demand' || (cloud && outcome.joined.length === 0 && outcome.failed.length === 0)) {
    return cmd.note(`\n${onDemandMessage(fleet)}`);
  }
  for (const i of outcome.failed) cmd.note(`${cloud ? `Instance ${hostLabel(i)}` : `Host ${i.host} (${i.name})`} failed: ${i.error ?? hostState(i)}`);
  const unit = cloud ? 'instance' : 'host';
  if (outcome.joined.length === 0) {
    const hint = cloud ? 'See the reasons above (`dstack offer` lists what exists), adjust the fleet and run `dstack apply` again.' : 'Fix the errors above and run `dstack apply` again.';
    throw new UserError('FLEET_NO_HOSTS', `No ${unit} of fleet ${fleet.name} joined`, { hint });
  }
  cmd.note(`\nFleet ${fleet.name}: ${outcome.joined.length} of ${outcome.joined.length + outcome.failed.length} ${unit}s joined`);
}

/**
 * Makes every `identity_file` absolute (`~` expanded, else relative to the configuration's folder, as the daemon
 * resolves them), because the daemon runs in another folder; an unreadable key is named here, before anything is sent.
 */
export async function resolveIdentityFiles(config: Record<string, unknown>, configPath: string, env: NodeJS.ProcessEnv): Promise<void> {
  const ssh = config.ssh_config;
  if (typeof ssh !== 'object' || ssh === null) return;
  const holders: Array<[string, unknown]> = [['ssh_config', ssh], ['ssh_config.proxy_jump', (ssh as Record<string, unknown>).proxy_jump]];
  const hosts = (ssh as Record<string, unknown>).hosts;
  if (Array.isArray(hosts)) {
    hosts.forEach((h: unknown, n) => {
      holders.push([`ssh_config.hosts[${n}]`, h], [`ssh_config.hosts[${n}].proxy_jump`, (h as Record<string, unknown> | null)?.proxy_jump]);
    });
  }
  const home = env.HOME || homedir();
  for (const [key, holder] of holders) {
    if (typeof holder !== 'object' || holder === null) continue;
    const o = holder as Record<string, unknown>;
    if (typeof o.identity_file !== 'string' || o.identity_file === '') continue;
    const given = o.identity_file;
    const expanded = given === '~' || given.startsWith('~/') ? home + given.slice(1) : given;
    const path = resolve(dirname(resolve(configPath)), expanded);
    await access(path, constants.R_OK).catch((e: NodeJS.ErrnoException) => {
      throw new UserError('IDENTITY_FILE_UNREADABLE', `${configPath}: ${key}.identity_file: cannot read ${given} (${e.code ?? e.message})`, {
        hint: 'Point identity_file at the private key (RSA, ECDSA or Ed25519, no passphrase) that logs in to the host.',
      });
    });
    o.identity_file = path;
  }
}
