/**
 * The boot image of an offer, found by image family (the newest non-deprecated image of it), as `os_images` in the
 * gcp backend names it. Defaults: Google's Deep Learning VM base image (NVIDIA driver, Docker, NVIDIA container
 * toolkit) for NVIDIA offers, Canonical's Ubuntu 22.04 LTS otherwise (the cloud-config installs Docker there).
 */
import type { GcpBackendConfig } from '../../core/home/backends-config.js';
import type { Arch, ImageKind } from '../cloud/image.js';
import { OfferUnavailableError } from '../compute.js';
import type { Gce } from './client.js';
import { httpStatusOf } from './errors.js';

export interface OsImage {
  family: string;
  project?: string;
  user: string;
}

export const DEFAULT_OS_IMAGES: Record<Arch, Record<ImageKind, OsImage>> = {
  x86: {
    nvidia: { family: 'common-cu123-ubuntu-2204-py310', project: 'deeplearning-platform-release', user: 'ubuntu' },
    cpu: { family: 'ubuntu-2204-lts', project: 'ubuntu-os-cloud', user: 'ubuntu' },
  },
  arm: {
    nvidia: { family: 'ubuntu-accelerator-2204-arm64-with-nvidia-550', project: 'ubuntu-os-accelerator-images', user: 'ubuntu' },
    cpu: { family: 'ubuntu-2204-lts-arm64', project: 'ubuntu-os-cloud', user: 'ubuntu' },
  },
};

export interface Image {
  selfLink: string;
  /** The boot disk can be no smaller. */
  diskSizeGb: number;
}

export function osImage(config: GcpBackendConfig, kind: ImageKind, arch: Arch): OsImage {
  return config.os_images?.[kind] ?? DEFAULT_OS_IMAGES[arch][kind];
}

/** An image family that does not exist (or is not shared with us) makes the offer unavailable, with the reason. */
export async function findImage(gce: Gce, os: OsImage): Promise<Image> {
  const project = os.project ?? gce.project;
  try {
    const [image] = await gce.call('images.getFromFamily', 'global', (c) => c.images.getFromFamily({ project, family: os.family }));
    const selfLink = image.selfLink ?? `projects/${project}/global/images/${image.name ?? os.family}`;
    return { selfLink, diskSizeGb: Number(image.diskSizeGb ?? 0) };
  } catch (e) {
    if (httpStatusOf(e) !== 404) throw e;
    throw new OfferUnavailableError('unsupported', 'IMAGE_NOT_FOUND', `no image of family "${os.family}" in project ${project} (set os_images in the gcp backend of config.yml)`);
  }
}
