// esbuild plugin for dist/agent.js only (issue 15, "Agent memory"): keeps out of the agent bundle the parts of its
// dependencies that the agent never reaches, because each one costs idle RSS even when unused (its source is held
// in memory and its top level runs at startup). ssh2 alone instantiated a 16 MiB WebAssembly memory on import.
//   - docker-modem's ssh.js (and with it ssh2, its crypto and cpu-features): only for `ssh://` Docker hosts; the
//     agent talks to the engine on its own host (unix socket or tcp://).
//   - dockerode's session.js and buildkit.js (@grpc/grpc-js, protobufjs): only for `docker.buildImage`.
//   - tar-fs and @balena/dockerignore in dockerode's util.js: only for building a tar context from a folder.
//   - zod's ~40 locales: the classic API re-exports them all as `z.locales`; only `en` (the default) is used.
// Each replaced module throws a clear error if a code path that needs it ever runs.

import { dirname, join, relative } from 'node:path';

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

/**
 * esbuild plugin for dist/agent.js (issue 15): each `import()` of a project file from the agent's own code becomes a
 * CommonJS module in the bundle (bundled on its own, then inlined), instead of esbuild's usual lazy ESM init. Why:
 * esbuild hoists the function declarations of a lazily imported ES module to the bundle's top level, so V8 creates
 * every one of them when the bundle loads, whether the module is ever imported or not (zod's thousands, for the
 * replica spec schemas only `POST /api/replicas` needs: ~1 MiB of the idle agent's RSS); a CommonJS module's stay
 * inside its wrapper function, which V8 only pre-parses until the import runs. The file stays one file.
 * A module that both sides import is instantiated once on each side: keep state and `instanceof` off that line
 * (main.ts formats no AgentError from the other side for this reason).
 */
export function agentLazyUnitsPlugin() {
  return {
    name: 'agent-lazy-units',
    setup(build) {
      const units = [];
      const root = () => build.initialOptions.absWorkingDir ?? process.cwd();
      build.onResolve({ filter: /^\.\.?\// }, async (args) => {
        if (args.kind !== 'dynamic-import' || args.namespace !== 'file' || args.pluginData === 'agent-lazy-unit') return undefined;
        if (/[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
        // esbuild's own resolution (`./x.js` → x.ts), marked so that this callback lets it through.
        const { path, errors } = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'agent-lazy-unit' });
        // Relative, because esbuild names the unit's wrapper after it in dist/agent.js.
        return errors.length > 0 ? { errors } : { path: relative(root(), path).replaceAll('\\', '/'), namespace: 'agent-lazy-unit' };
      });
      build.onLoad({ filter: /.*/, namespace: 'agent-lazy-unit' }, async (args) => {
        // The same options and plugins (so a unit's own import() calls become units too), minus what makes a file.
        const { banner: _b, outfile: _o, outdir: _d, entryPoints: _e, ...options } = build.initialOptions;
        const entry = join(root(), args.path);
        const unit = await build.esbuild.build({ ...options, entryPoints: [entry], format: 'cjs', write: false, metafile: true });
        units.push(unit.metafile);
        return { contents: unit.outputFiles[0].text, loader: 'js', resolveDir: dirname(entry) };
      });
      // The units' inputs count as the bundle's own (build.mjs checks them for forbidden packages; build-meta.json).
      build.onEnd((result) => {
        if (result.metafile) for (const m of units) Object.assign(result.metafile.inputs, m.inputs);
      });
    },
  };
}
