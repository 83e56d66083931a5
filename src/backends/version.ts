/**
 * The product version, compared with the agent's `/api/health` version to decide whether a running agent is
 * current. The bundler defines `__DSTACK_VERSION__` from package.json; unbundled runs (tests) use the fallback,
 * which must follow package.json's version.
 */
declare const __DSTACK_VERSION__: string | undefined;

export const DSTACK_VERSION: string = typeof __DSTACK_VERSION__ === 'string' ? __DSTACK_VERSION__ : '0.1.0';
