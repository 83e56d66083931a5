/**
 * dstack's default image naming (dstack-notes §2.7): `dstackai/base:0.15-base-ubuntu24.04`, the `-devel-`
 * flavour when `nvcc: true`. `DSTACK_BASE_IMAGE` (read by the daemon) replaces it, e.g. with a local test image.
 */
export const DEFAULT_IMAGE_REPO = 'dstackai/base';
export const DEFAULT_IMAGE_VERSION = '0.15';
export const DEFAULT_IMAGE_UBUNTU = '24.04';

export function defaultImage(nvcc: boolean): string {
  return `${DEFAULT_IMAGE_REPO}:${DEFAULT_IMAGE_VERSION}-${nvcc ? 'devel' : 'base'}-ubuntu${DEFAULT_IMAGE_UBUNTU}`;
}

export interface ImageChoice {
  image: string;
  /** True for dstack's own base image (bash, uv, python venv bootstrap). */
  isDstackBase: boolean;
}

/** The image a replica runs: `image`, else the base image (or its DSTACK_BASE_IMAGE override). */
export function chooseImage(config: { image?: string | undefined; nvcc?: boolean | undefined }, env: NodeJS.ProcessEnv): ImageChoice {
  if (config.image) return { image: config.image, isDstackBase: false };
  const override = env.DSTACK_BASE_IMAGE;
  if (override) return { image: override, isDstackBase: false };
  return { image: defaultImage(config.nvcc === true), isDstackBase: true };
}
