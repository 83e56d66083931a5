/**
 * The VM's `user-data` metadata: a minimal `#cloud-config` (Ubuntu images on GCE run cloud-init with it). The SSH
 * key arrives through the `ssh-keys` metadata and the SSH bootstrap does the rest, as on any SSH host; what must be
 * sure is Docker: the Deep Learning VM image ships it, plain Ubuntu does not. The SSH user joins the `docker`
 * group so the agent needs no sudo.
 */
import type { ImageKind } from './images.js';

export function cloudConfig(kind: ImageKind, user: string): string {
  // JSON strings are YAML flow scalars: a user name from config.yml cannot break out of the document.
  const u = JSON.stringify(user);
  const lines = ['#cloud-config'];
  if (kind === 'cpu') lines.push('package_update: true', 'packages:', '  - docker.io');
  lines.push('runcmd:', '  - [systemctl, enable, --now, docker]', `  - [usermod, -aG, docker, ${u}]`);
  return `${lines.join('\n')}\n`;
}
