/**
 * Where `dstack validate --json` spends its time after Node's own start (issue 15, part (c) of the snapshot
 * measurement): each stage is a dynamic import or a call, timed with performance.now() (whose origin is the
 * process start) and in CPU time (process.cpuUsage, user + system), in the order the CLI meets them. Bundled
 * with code splitting like dist/ by build.mjs (`breakdown`), so each import compiles and evaluates its own chunk
 * as in the product. Prints one JSON object: {wall: {stage: ms}, cpu: {stage: ms}}.
 */
const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const wall: Record<string, number> = {};
const cpu: Record<string, number> = {};
let last = { wall: performance.now(), cpu: cpuMs() };
wall['node start → entry runs'] = last.wall;
cpu['node start → entry runs'] = last.cpu;
const stage = (label: string): void => {
  const now = { wall: performance.now(), cpu: cpuMs() };
  wall[label] = now.wall - last.wall;
  cpu[label] = now.cpu - last.cpu;
  last = now;
};

const file = process.argv[2];
if (!file) throw new Error('usage: node breakdown/entry.js FILE');
// A bundled dynamic import() of a CJS package yields {default: module.exports} (as in src/main.ts).
const yaml: typeof import('yaml') & { default?: typeof import('yaml') } = await import('yaml');
stage('import yaml (compile + evaluate)');
const zod = await import('zod');
stage('import zod (compile + evaluate)');
await import('../../src/core/model/index.js');
stage('build the schemas (evaluate src/core/model)');
const { loadConfigFile } = await import('../../src/core/config/load.js');
const { parseConfig } = await import('../../src/core/config/parse.js');
await import('../../src/commands/validate-direct.js');
stage('import the rest (config/load, validate-direct)');
zod.config({ jitless: true });
const { readFile } = await import('node:fs/promises');
const { parseDocument } = yaml.default ?? yaml;
const raw: unknown = parseDocument(await readFile(file, 'utf8')).toJS();
stage('read + YAML parse, first time');
if (!parseConfig(raw).ok) throw new Error(`${file} is not a valid configuration`);
stage('zod parse, first time');
const loaded = await loadConfigFile(file);
stage('whole load again (read + YAML + zod + positions)');
JSON.stringify({ configs: [loaded] }, null, 2);
stage('JSON output');
process.stdout.write(`${JSON.stringify({ wall, cpu })}\n`);
