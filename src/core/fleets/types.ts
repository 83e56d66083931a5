/**
 * One host of an SSH fleet as the daemon and the SSH backend see it (from `type: fleet` + `ssh_config`, every
 * per-host setting resolved, `~` expanded). Instance names are `<fleet>-<index>` in the order of `hosts`.
 */
import type { CloudInstanceRecord } from '../state/schema.js';

export interface SshJump {
  hostname: string;
  port: number;
  user: string;
  identityFile: string;
}

export interface SshTarget {
  /** Instance name in state: `<fleet>-<index>`. */
  instance: string;
  fleet: string;
  hostname: string;
  port: number;
  user: string;
  /** Absolute path of the private key. */
  identityFile: string;
  proxyJump?: SshJump;
  internalIp?: string;
  /**
   * The name its host key is stored under in known_hosts instead of `[host]:port` (OpenSSH's HostKeyAlias): cloud
   * instances use their instance id, because clouds hand the same address to the next VM, which has another key.
   */
  hostKeyAlias?: string;
  /** Equal shares the host is split into (1 = whole host); `auto` resolves to the GPU count (min 1) once known. */
  blocks: number | 'auto';
}

/** Steps of bringing a host into a fleet, reported live to the CLI (InstanceView.progress). */
export type ProvisionStep =
  | 'offer'
  | 'create'
  | 'address'
  | 'connect'
  | 'host-key'
  | 'prerequisites'
  | 'upload-agent'
  | 'start-agent'
  | 'host-info';

export interface ProvisionProgress {
  instance: string;
  step: ProvisionStep;
  /** One human line, e.g. `uploading dstack-agent (74 MB)`, `host key stored (SHA256:…)`. */
  message: string;
  /**
   * Cloud instances: set on the step that created the VM (and when its address became known), so the daemon
   * stores the instance id before anything else can fail and a crash never leaves an instance it does not know.
   */
  cloud?: CloudInstanceRecord;
}
