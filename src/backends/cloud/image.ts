/**
 * What every cloud backend decides the same way about a VM's image: which kind an offer needs, for which CPU
 * architecture, and the user data that makes sure of Docker. The image itself is the provider's (an AMI by name, a GCE
 * image family); the SSH key arrives the provider's way, and the SSH bootstrap does the rest, as on any SSH host.
 */
export type ImageKind = 'cpu' | 'nvidia';
export type Arch = 'x86' | 'arm';

export function imageKind(gpus: readonly { vendor: string }[]): ImageKind {
  return gpus.some((g) => g.vendor.toLowerCase() === 'nvidia') ? 'nvidia' : 'cpu';
}

export function archOf(arch: string | undefined): Arch {
  return arch !== undefined && /^(arm|aarch64)/i.test(arch) ? 'arm' : 'x86';
}

/**
 * A minimal `#cloud-config` (cloud-init runs it on Ubuntu images on EC2 and GCE): the GPU images ship Docker with
 * the NVIDIA container toolkit, plain Ubuntu does not. The SSH user joins the `docker` group so the agent needs no
 * sudo. Checked with `cloud-init schema --config-file` in the tests.
 */
export function cloudConfig(kind: ImageKind, user: string): string {
  // JSON strings are YAML flow scalars: a user name from config.yml cannot break out of the document.
  const u = JSON.stringify(user);
  const lines = ['#cloud-config'];
  if (kind === 'cpu') lines.push('package_update: true', 'packages:', '  - docker.io');
  lines.push('runcmd:', '  - [systemctl, enable, --now, docker]', `  - [usermod, -aG, docker, ${u}]`);
  return `${lines.join('\n')}\n`;
}
