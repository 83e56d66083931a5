/**
 * Bringing a host into a fleet over an open SSH connection (dstack-notes §5.2, adapted): prerequisites (Docker
 * answers, GPU tools answer when present, the CPU architecture matches the agent binary), the agent binary in
 * $HOME/<remoteDir> uploaded only when its sha256 differs, the per-host token written over SFTP, and the agent
 * started with its own detached/pidfile mode (`dstack-agent start --detach`), which stops the previous agent of
 * that directory first; replicas survive the swap because the new agent adopts them. A running agent of the same
 * version that accepts our token is reused.
 */
import type { Client } from 'ssh2';
import { InternalError, UserError } from '../../core/errors.js';
import type { ProvisionStep, SshTarget } from '../../core/fleets/types.js';
import type { AgentHealth } from '../../core/model/agent-api.js';
import type { AgentClient } from '../agent-client.js';
import type { AgentBinary } from './agent-binary.js';
import { exec, sftp, shq, uploadFile, writeRemoteFile } from './remote.js';

export interface InstallOptions {
  client: Client;
  target: SshTarget;
  binary: AgentBinary;
  token: string;
  agentId: string;
  agentPort: number;
  /** Agent directory relative to the remote $HOME (default `.dstack/agent`). */
  remoteDir: string;
  version: string;
  /** The agent API through this connection, with `token`. */
  agent: AgentClient;
  progress: (step: ProvisionStep, message: string) => void;
  signal?: AbortSignal;
}

export interface RemoteLayout {
  dir: string;
  binary: string;
  token: string;
}

const ARCH: Record<string, string> = { x86_64: 'x64', amd64: 'x64', aarch64: 'arm64', arm64: 'arm64' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Absolute agent paths on the host: SFTP resolves relative paths against the login dir, which may not be $HOME. */
export async function remoteLayout(client: Client, remoteDir: string): Promise<RemoteLayout> {
  const res = await exec(client, 'printf %s "$HOME"');
  const home = res.stdout.trim();
  if (res.code !== 0 || !home.startsWith('/')) throw new InternalError('SSH_NO_HOME', `cannot resolve $HOME on the host (${res.stderr.trim() || 'empty'})`);
  const dir = `${home}/${remoteDir}`;
  return { dir, binary: `${dir}/dstack-agent`, token: `${dir}/token` };
}

export async function checkPrerequisites(o: Pick<InstallOptions, 'client' | 'target' | 'progress'>): Promise<void> {
  const who = `${o.target.user}@${o.target.hostname}`;
  const arch = (await exec(o.client, 'uname -m')).stdout.trim();
  if (ARCH[arch] !== process.arch) {
    throw new UserError('ARCH_UNSUPPORTED', `${who} is ${arch || 'of unknown architecture'}; this dstack ships a dstack-agent for ${process.arch} only`, {
      hint: 'Add hosts of the same CPU architecture as the machine running dstack.',
    });
  }
  const docker = await exec(o.client, "docker version --format '{{.Server.Version}}'");
  if (docker.code !== 0) {
    const why = docker.code === 127 ? 'docker is not installed' : `\`docker version\` failed: ${docker.stderr.trim().split('\n').pop() ?? ''}`;
    throw new UserError('DOCKER_MISSING', `${who}: ${why}`, {
      hint: `Install Docker: https://docs.docker.com/engine/install/ (or \`apt-get install docker.io\`), start it, and add ${o.target.user} to the docker group (\`usermod -aG docker ${o.target.user}\`).`,
    });
  }
  for (const [tool, args, fix] of [
    ['nvidia-smi', '-L', 'install or repair the NVIDIA driver and the NVIDIA Container Toolkit'],
    ['amd-smi', 'list', 'install or repair the amdgpu driver (DKMS) and ROCm'],
  ] as const) {
    const res = await exec(o.client, `command -v ${tool} >/dev/null 2>&1 || exit 99; ${tool} ${args}`);
    if (res.code !== 0 && res.code !== 99) {
      throw new UserError('GPU_DRIVER', `${who}: ${tool} exists but fails (exit ${res.code}): ${res.stderr.trim().split('\n').pop() ?? ''}`, {
        hint: `On ${o.target.hostname}, ${fix}; \`${tool}\` must answer before the host can join a fleet.`,
      });
    }
  }
  o.progress('prerequisites', `${arch}, docker ${docker.stdout.trim()}`);
}

/** Uploads the binary when the host's copy differs (sha256) and writes the token; true when it uploaded. */
export async function installFiles(o: InstallOptions, layout: RemoteLayout): Promise<boolean> {
  const sum = await exec(o.client, `sha256sum ${shq(layout.binary)} 2>/dev/null`);
  const current = sum.code === 0 && sum.stdout.split(/\s+/)[0] === o.binary.sha256;
  const mk = await exec(o.client, `mkdir -p ${shq(layout.dir)} && chmod 700 ${shq(layout.dir)}`);
  if (mk.code !== 0) throw new UserError('AGENT_INSTALL_FAILED', `cannot create ${layout.dir} on ${o.target.hostname}: ${mk.stderr.trim()}`);
  const s = await sftp(o.client);
  try {
    if (current) o.progress('upload-agent', `dstack-agent is current (sha256 ${o.binary.sha256.slice(0, 12)}), no upload`);
    else {
      o.progress('upload-agent', `uploading dstack-agent (${Math.round(o.binary.size / 1e6)} MB)`);
      await uploadFile(s, o.binary.path, layout.binary, 0o755);
      o.progress('upload-agent', `uploaded dstack-agent to ${layout.binary}`);
    }
    await writeRemoteFile(s, layout.token, `${o.token}\n`, 0o600);
  } finally {
    s.end();
  }
  return !current;
}

async function healthy(agent: AgentClient): Promise<AgentHealth | undefined> {
  return agent.health().catch(() => undefined);
}

/** Reuses an agent of this version that accepts the token; otherwise (re)starts it and waits for its health. */
export async function startAgent(o: InstallOptions, layout: RemoteLayout): Promise<AgentHealth> {
  const running = await healthy(o.agent);
  if (running?.version === o.version) {
    o.progress('start-agent', `dstack-agent ${running.version} already running (pid ${running.pid})`);
    return running;
  }
  const flags = ['--home', layout.dir, '--port', String(o.agentPort), '--token-file', layout.token, '--agent-id', o.agentId];
  // The SEA binary unpacks itself into XDG_CACHE_HOME: keep that inside the agent directory so teardown removes it.
  const cmd = `cd ${shq(layout.dir)} && XDG_CACHE_HOME=${shq(`${layout.dir}/cache`)} ./dstack-agent start --detach ${flags.map(shq).join(' ')}`;
  const res = await exec(o.client, cmd);
  if (res.code !== 0) {
    throw new InternalError('AGENT_START_FAILED', `dstack-agent did not start on ${o.target.hostname}: ${(res.stderr || res.stdout).trim().slice(-500)}`);
  }
  for (let i = 0; i < 300 && !o.signal?.aborted; i++) {
    const health = await healthy(o.agent);
    if (health && health.version !== o.version) {
      throw new InternalError('AGENT_VERSION_MISMATCH', `${o.binary.path} reports version ${health.version}, this dstack is ${o.version}`, {
        hint: 'Rebuild the binaries (`npm run build:binary`) so dstack and dstack-agent come from the same build.',
      });
    }
    if (health) {
      o.progress('start-agent', `dstack-agent ${health.version} started (pid ${health.pid}${running ? `, replaced ${running.version}` : ''})`);
      return health;
    }
    await sleep(200);
  }
  const tail = await exec(o.client, `tail -n 20 ${shq(`${layout.dir}/agent.log`)}`);
  throw new InternalError('AGENT_START_FAILED', `dstack-agent on ${o.target.hostname} did not answer on 127.0.0.1:${o.agentPort}: ${tail.stdout.trim().slice(-800)}`, {
    hint: `See ${layout.dir}/agent.log on the host.`,
  });
}
