/**
 * The instance's user data: a minimal `#cloud-config`. The key pair already lets the image's user in (EC2 hands
 * the key to cloud-init), and the SSH bootstrap does the rest, as on any SSH host. What it must make sure of is
 * Docker: the GPU image ships it with the NVIDIA container toolkit, plain Ubuntu does not. The SSH user joins the
 * `docker` group so the agent needs no sudo. Checked with `cloud-init schema --config-file` in the tests.
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
