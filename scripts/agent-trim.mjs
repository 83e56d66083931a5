// esbuild plugin for dist/agent.js only (issue 15, "Agent memory"): keeps out of the agent bundle the parts of its
// dependencies that the agent never reaches, because each one costs idle RSS even when unused (its source is held
// in memory and its top level runs at startup). ssh2 alone instantiated a 16 MiB WebAssembly memory on import.
//   - docker-modem's ssh.js (and with it ssh2, its crypto and cpu-features): only for `ssh://` Docker hosts; the
//     agent talks to the engine on its own host (unix socket or tcp://).
//   - dockerode's session.js and buildkit.js (@grpc/grpc-js, protobufjs): only for `docker.buildImage`.
//   - tar-fs and @balena/dockerignore in dockerode's util.js: only for building a tar context from a folder.
//   - zod's ~40 locales: the classic API re-exports them all as `z.locales`; only `en` (the default) is used.
// Each replaced module throws a clear error if a code path that needs it ever runs.

/** [module id as written, the importer's path must contain this, what the agent cannot do without it] */
const TRIMMED = [
  ['./ssh', 'node_modules/docker-modem/lib/', 'ssh:// Docker hosts'],
  ['./session', 'node_modules/dockerode/lib/', 'BuildKit image builds'],
  ['./buildkit', 'node_modules/dockerode/lib/', 'BuildKit image builds'],
  ['tar-fs', 'node_modules/dockerode/lib/', 'image builds from a folder'],
  ['@balena/dockerignore', 'node_modules/dockerode/lib/', 'image builds from a folder'],
];

const NAMESPACE = 'agent-trim';
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A CommonJS module whose every property (and the module itself, if called) throws on use, not on import. */
function throwingModule(feature) {
  const message = JSON.stringify(`dstack-agent is built without support for ${feature}`);
  return `const fail = () => { throw new Error(${message}); };
module.exports = new Proxy(fail, { get: (_t, key) => (key === '__esModule' ? false : fail), apply: fail, construct: fail });`;
}

export function agentTrimPlugin() {
  return {
    name: 'agent-trim',
    setup(build) {
      for (const [id, importer, feature] of TRIMMED) {
        build.onResolve({ filter: new RegExp(`^${escape(id)}$`) }, (args) =>
          args.importer.replaceAll('\\', '/').includes(importer) ? { path: id, namespace: NAMESPACE, pluginData: feature } : undefined,
        );
      }
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({ contents: throwingModule(args.pluginData), loader: 'js' }));
      // `z.locales` keeps only `en`; the real en.js is still bundled (schemas.js configures it as the default).
      build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        args.importer.replaceAll('\\', '/').includes('node_modules/zod/') ? { path: 'zod-locales', namespace: `${NAMESPACE}-zod`, pluginData: args.resolveDir } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: `${NAMESPACE}-zod` }, (args) => ({
        contents: "export { default as en } from '../locales/en.js';",
        resolveDir: args.pluginData,
        loader: 'js',
      }));
    },
  };
}
