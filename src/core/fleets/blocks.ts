/**
 * `blocks: N | auto` of a fleet host as a number, once the host's GPUs are known (dstack-notes §5.4): `auto` splits
 * a GPU host into one block per GPU and leaves a host without GPUs whole (1 block), so `auto` on a CPU box never
 * hands out slivers of one core each. Pure.
 */
import type { SshTarget } from './types.js';

export function resolveBlocks(blocks: SshTarget['blocks'], gpuCount: number): number {
  return blocks === 'auto' ? Math.max(1, gpuCount) : blocks;
}
