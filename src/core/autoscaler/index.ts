export * from './policy.js';
export * from './rps-autoscaler.js';
export * from './token-bucket.js';
export * from './scale-down.js';
