/**
 * The hidden first arguments that src/main.ts answers before loading any command: the CLI run again as the detached
 * daemon (core/client/auto-start.ts) or as a proxy worker of `server.proxy_workers` (daemon/assemble/proxy-workers.ts).
 * Kept free of imports: main.ts loads it for every command, `--version` included.
 */
export const ROLES = { daemon: '__daemon', proxyWorker: '__proxy-worker' } as const;
