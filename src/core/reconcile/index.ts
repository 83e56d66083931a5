export * from './backoff.js';
export * from './decide.js';
export * from './probes.js';
export * from './replica-status.js';
export * from './run-status.js';
