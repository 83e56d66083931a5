/**
 * The machine image of an offer, found by name as dstack's `os_images` names it (an AMI name with `*` wildcards,
 * its owner, the SSH user). Defaults: a GPU-ready Ubuntu with Docker and the NVIDIA container toolkit for NVIDIA
 * offers (AWS's Deep Learning Base AMI), Canonical's Ubuntu 22.04 otherwise (user data installs Docker there).
 */
import type { AwsBackendConfig } from '../../core/home/backends-config.js';
import type { Arch, ImageKind } from '../cloud/image.js';
import { OfferUnavailableError } from '../compute.js';
import type { Ec2 } from './client.js';

export interface OsImage {
  name: string;
  owner?: string;
  user: string;
}

export const DEFAULT_OS_IMAGES: Record<Arch, Record<ImageKind, OsImage>> = {
  x86: {
    nvidia: { name: 'Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *', owner: 'amazon', user: 'ubuntu' },
    cpu: { name: 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*', owner: '099720128477', user: 'ubuntu' },
  },
  arm: {
    nvidia: { name: 'Deep Learning ARM64 Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *', owner: 'amazon', user: 'ubuntu' },
    cpu: { name: 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-arm64-server-*', owner: '099720128477', user: 'ubuntu' },
  },
};

export interface Image {
  imageId: string;
  name: string;
  /** The device the root volume is attached as (`/dev/sda1` on Ubuntu): the disk size is set on it. */
  rootDeviceName: string;
  /** Size of the image's root snapshot: the root volume can be no smaller. */
  rootSizeGiB: number;
}

/** Images are rebuilt under the same name pattern (a date suffix): the latest build is the one to use. */
export function newestImage<T extends { ImageId?: string; CreationDate?: string }>(images: readonly T[]): T | undefined {
  // ISO timestamps sort as strings.
  return images.filter((i) => i.ImageId).sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
}

/** The configured image of that kind, or dstack's default for the architecture. */
export function osImage(config: AwsBackendConfig, kind: ImageKind, arch: Arch): OsImage {
  return config.os_images?.[kind] ?? DEFAULT_OS_IMAGES[arch][kind];
}

/** The newest available image matching `image` in `region`; an image that is not there makes the offer unavailable. */
export async function findImage(ec2: Ec2, region: string, image: OsImage, arch: Arch, signal?: AbortSignal): Promise<Image> {
  const found = await ec2.call(region, 'DescribeImages', (client, sdk) =>
    client.send(
      new sdk.DescribeImagesCommand({
        ...(image.owner ? { Owners: [image.owner] } : {}),
        Filters: [
          { Name: 'name', Values: [image.name] },
          { Name: 'state', Values: ['available'] },
          { Name: 'architecture', Values: [arch === 'arm' ? 'arm64' : 'x86_64'] },
        ],
      }),
      { abortSignal: signal },
    ),
  );
  const newest = newestImage(found.Images ?? []);
  if (!newest?.ImageId) {
    const owner = image.owner ? `owned by ${image.owner}` : 'of any owner';
    throw new OfferUnavailableError('unsupported', 'ImageNotFound', `no ${arch === 'arm' ? 'arm64' : 'x86_64'} image named "${image.name}" ${owner} in ${region} (set os_images in the aws backend of config.yml)`);
  }
  const rootDeviceName = newest.RootDeviceName ?? '/dev/sda1';
  const root = newest.BlockDeviceMappings?.find((m) => m.DeviceName === rootDeviceName);
  return { imageId: newest.ImageId, name: newest.Name ?? image.name, rootDeviceName, rootSizeGiB: root?.Ebs?.VolumeSize ?? 0 };
}
