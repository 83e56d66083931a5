/** Replaced at bundle time by scripts/build.mjs (`define: {__DSTACK_VERSION__: '"0.1.0"'}`). */
declare const __DSTACK_VERSION__: string | undefined;

const FALLBACK_VERSION = '0.1.0';

/** The version the daemon compares to decide whether to reinstall the agent on a host. */
export function agentVersion(): string {
  return typeof __DSTACK_VERSION__ === 'string' ? __DSTACK_VERSION__ : FALLBACK_VERSION;
}
