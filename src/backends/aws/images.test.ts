import { describe, expect, it } from 'vitest';
import { archOf, imageKind } from '../cloud/image.js';
import { DEFAULT_OS_IMAGES, newestImage, osImage } from './images.js';

describe('image choice', () => {
  it('takes the newest build by CreationDate, whatever order EC2 lists them in', () => {
    const images = [
      { ImageId: 'ami-2', CreationDate: '2025-03-01T00:00:00.000Z' },
      { ImageId: 'ami-3', CreationDate: '2025-11-20T10:00:00.000Z' },
      { ImageId: 'ami-1', CreationDate: '2024-01-01T00:00:00.000Z' },
      { CreationDate: '2026-01-01T00:00:00.000Z' },
    ];
    expect(newestImage(images)?.ImageId).toBe('ami-3');
    expect(newestImage([])).toBeUndefined();
  });

  it('uses the NVIDIA image for NVIDIA GPUs only, and the arm64 defaults for arm offers', () => {
    expect(imageKind([{ vendor: 'nvidia' }])).toBe('nvidia');
    expect(imageKind([{ vendor: 'amd' }])).toBe('cpu');
    expect(imageKind([])).toBe('cpu');
    expect([archOf('arm'), archOf('aarch64'), archOf('x86'), archOf(undefined)]).toEqual(['arm', 'arm', 'x86', 'x86']);
    expect(osImage({ type: 'aws', creds: { type: 'default' } }, 'cpu', 'arm')).toEqual(DEFAULT_OS_IMAGES.arm.cpu);
  });

  it('a configured os_images entry wins over the default of its kind only', () => {
    const config = { type: 'aws' as const, creds: { type: 'default' as const }, os_images: { nvidia: { name: 'my-gpu-*', owner: 'self', user: 'ec2-user' } } };
    expect(osImage(config, 'nvidia', 'x86')).toEqual({ name: 'my-gpu-*', owner: 'self', user: 'ec2-user' });
    expect(osImage(config, 'cpu', 'x86')).toEqual(DEFAULT_OS_IMAGES.x86.cpu);
  });
});
