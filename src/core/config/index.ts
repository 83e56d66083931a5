/** Loading, parsing, env resolution and pretty-printing of configurations (the schemas are in ../model). */
export { loadConfigFile, parseConfigText, MAX_CONFIG_BYTES, type LoadedConfig, type LoadOptions } from './load.js';
export { parseConfig, parseConfigObject, type ParseResult } from './parse.js';
export { ConfigError, formatProblem, formatPath, type ConfigProblem, type PathProblem } from './problems.js';
export { resolveEnv, type EnvOverrides } from './env.js';
export { formatResources, formatDuration, formatMemory, formatRange, formatGpu } from './format.js';
export { SKYSERVE } from './skyserve/schema.js';
export { unsupportedFields, type UnsupportedField } from './unsupported-fields.js';
