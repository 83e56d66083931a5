export type * from './types.js';
export { resolveBlocks } from './blocks.js';
export { diffHosts, hostKey, sshTargets, type HostDiff } from './targets.js';
