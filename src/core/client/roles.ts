/**
 * The hidden first arguments that src/main.ts answers before loading any command: the CLI run again as the detached
 * daemon (core/client/auto-start.ts) or as a proxy worker of `server.proxy_workers` (daemon/assemble/proxy-workers.ts).
 * Kept free of imports: main.ts loads it for every command, `--version` included.
 */
export const ROLES = { daemon: '__daemon', proxyWorker: '__proxy-worker' } as const;

/**
 * First words of commands that talk to the daemon whatever their arguments (apply may stop at a bad file first):
 * early-start.ts starts a dead daemon for them. Here so main.ts loads early-start (and child_process) only for them.
 */
export const NEEDS_DAEMON: ReadonlySet<string> = new Set(['ps', 'stop', 'logs', 'fleet', 'metrics', 'attach', 'secret']);
