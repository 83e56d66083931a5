import { Flags } from '@oclif/core';
import { existsSync } from 'node:fs';
import { connectDaemon, type DaemonClient } from '../core/client/index.js';
import { resolveEnv } from '../core/config/load.js';
import { UserError } from '../core/errors.js';
import { resolveHome } from '../core/home/paths.js';
import { callerSuppliedPaths } from '../core/secrets/supplied.js';
import { publishedLines } from '../ui/apply-progress.js';
import { watchApply } from '../ui/apply-progress.watch.js';
import { renderPlan, planDecision } from '../ui/plan.js';
import { applyFleet } from './apply-fleet.js';
import { packForApply } from './apply-repo.js';
import { formatBytes } from '../core/repo/index.js';
import { BaseCommand, projectFlag } from './base.js';
import { loadConfigArg, STDIN_ARG } from './config-input.js';

export default class Apply extends BaseCommand {
  static override summary = 'Apply a service or fleet configuration: plan, confirm, submit, and wait until it is ready.';
  static override description = `Shows the plan and offers, asks for confirmation (-y skips), submits the run and follows it until every replica is ready. Then it prints the service URL and exits, leaving the service running: \`dstack logs -f NAME\` follows its logs, \`dstack stop NAME\` stops it.`;
  static override examples = ['dstack apply -f service.dstack.yml', 'dstack apply -f service.dstack.yml -y -d -e HF_TOKEN=hf_xxx', 'dstack apply -f fleet.dstack.yml -y'];
  static override flags = {
    project: projectFlag,
    file: Flags.string({ char: 'f', description: 'The configuration file, or - for standard input (default: .dstack.yml or .dstack.yaml).' }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation.' }),
    detach: Flags.boolean({ char: 'd', description: 'Exit right after submitting, without waiting.' }),
    name: Flags.string({ char: 'n', description: 'The run name (overrides `name` in the file).' }),
    env: Flags.string({ char: 'e', multiple: true, description: 'KEY=VALUE, or KEY to take it from this environment.' }),
    force: Flags.boolean({ description: 'Apply even if nothing changed.' }),
    'max-offers': Flags.integer({ min: 1, default: 3, description: 'How many offers to show.' }),
    json: Flags.boolean({ description: 'Print the final run as JSON on stdout.' }),
    repo: Flags.string({ char: 'P', description: 'The repo to upload instead of the configuration\'s folder: a folder or a git URL (replaces `repos:`).', exclusive: ['no-repo'] }),
    'repo-branch': Flags.string({ description: 'The branch of the -P/--repo (or `repos:`) git URL to clone.' }),
    'repo-hash': Flags.string({ description: 'The commit of the -P/--repo (or `repos:`) git URL to check out.' }),
    'no-repo': Flags.boolean({ description: 'Upload no repo: /workflow gets only the `files:` mappings.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(this.constructor as typeof Apply);
    const file = await loadConfigArg(flags.file ?? defaultConfigFile(), this.io);
    // Standard input has no path to record; its repo is the current folder's, as `<stdin>` resolves there.
    const fromStdin = flags.file === STDIN_ARG;
    const configPath = fromStdin ? undefined : file.path;
    if (file.kind === 'fleet') return applyFleet(this, this.io, file, envFlags(flags.env ?? [], this.io.env), { ...flags, fromStdin });
    const overrides = envFlags(flags.env ?? [], this.io.env);
    const config = { ...(resolveEnv(file.raw, overrides, this.io.env) as Record<string, unknown>) };
    // Values taken from this environment or -e reach the replicas, never a view: the daemon stores them masked.
    const secretPaths = callerSuppliedPaths(file.raw, overrides);
    if (flags.name) config.name = flags.name;
    const out = (text: string) => (flags.json ? this.note(text) : this.print(text));
    const { repo, summary, notice } = await packForApply(file.path, file.config, this.io.env, flags);
    if (notice !== undefined) this.note(notice);
    const client = await connectDaemon({ env: this.io.env });
    try {
      const plan = await client.plan({ config, configPath, repo, secretPaths });
      out(renderPlan(plan, { configPath: file.path, repo: summary, maxOffers: flags['max-offers'], painter: this.painter(flags.json ? this.io.stderr : this.io.stdout) }) + '\n');
      const decision = planDecision(plan, { yes: flags.yes, force: flags.force });
      if (decision.message) out(decision.message);
      if (decision.stop) return;
      if (decision.question && !flags.yes && !(await this.confirmOrFail(decision.question))) return out('Exiting...');
      // A project on another server gets the code archive first (only when it does not hold it yet).
      const sent = await client.ensureArchive(repo);
      if (sent > 0) this.note(`Uploaded the code archive to ${client.origin} (${formatBytes(sent)})`);
      const applied = await client.apply({ config, configPath, repo, secretPaths, force: flags.force || plan.action === 'none' });
      if (flags.detach) {
        this.note(`Run ${applied.name} ${plan.action === 'create' ? 'submitted' : 'updated'}, detaching...`);
        return flags.json ? this.printJson(applied) : undefined;
      }
      await this.follow(client, applied, flags.json);
    } finally {
      await client.close();
    }
  }

  private async follow(client: DaemonClient, applied: Parameters<typeof publishedLines>[0], json: boolean): Promise<void> {
    const tty = Boolean(this.io.stderr.isTTY) && !this.io.env.CI;
    const { run, outcome } = await watchApply({
      initial: applied,
      events: (signal) => client.watch(applied.name, signal),
      stream: this.io.stderr,
      tty,
      color: this.painter(this.io.stderr).enabled,
      now: Date.now,
      onInterrupt: (handler) => (process.on('SIGINT', handler), () => void process.off('SIGINT', handler)),
    });
    if (outcome.kind === 'interrupted' || outcome.kind === 'ended') return this.detachOrStop(client, run.name, tty && outcome.kind === 'interrupted');
    if (outcome.kind === 'failed') throw new UserError('RUN_FAILED', `${run.name} failed: ${outcome.reason}`, { hint: `See \`dstack logs ${run.name}\`.` });
    this.note(`\n${run.name} provisioning completed (${run.status})`);
    if (json) this.printJson(run);
    else this.print(publishedLines(run).join('\n'));
    if (run.auth) {
      // Never the token itself: terminals are recorded, shared and screenshotted.
      this.note(`Requests need "Authorization: Bearer <token>"; the token is \`token\` in ${resolveHome(this.io.env).configFile}`);
    }
  }

  private async detachOrStop(client: DaemonClient, name: string, ask: boolean): Promise<void> {
    if (ask && (await this.confirmOrFail(`Stop the run ${name} before detaching?`).catch(() => false))) {
      await client.stopRun(name);
      return this.note('Stopped');
    }
    this.note(`Detached from ${name}; it keeps running. Follow it with \`dstack ps\`, stop it with \`dstack stop ${name}\`.`);
  }
}

function defaultConfigFile(): string {
  return ['.dstack.yml', '.dstack.yaml'].find((f) => existsSync(f)) ?? '.dstack.yml';
}

/** `-e KEY=VALUE`, or `-e KEY` taking the value from this environment (dstack's `KEY[=VALUE]`). */
export function envFlags(values: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    const value = eq < 0 ? env[key] : v.slice(eq + 1);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UserError('INVALID_ENV_FLAG', `-e ${key}${eq < 0 ? '' : '=…'}: ${JSON.stringify(key)} is not a variable name`, { hint: 'Use -e KEY=VALUE or -e KEY.' });
    if (value === undefined) throw new UserError('ENV_NOT_SET', `Environment variable ${key} is not set`, { hint: `Pass -e ${key}=VALUE or export ${key}.` });
    out[key] = value;
  }
  return out;
}
