/** The daemon client: everything a command needs to talk to `dstack server`. */
export { connectDaemon, daemonLogFile, type ConnectOptions } from './connect.js';
export { DaemonClient, type LogsQuery } from './daemon-client.js';
export { Transport, mapTransportError, type TransportOptions } from './transport.js';
export { parseSse, type SseEvent } from './sse.js';
export { parseSince } from './since.js';
export { probeHealth, type Probe } from './health.js';
export { spawnDetachedDaemon, daemonArgv, isSingleBinary, type SpawnDaemon, type SpawnedDaemon } from './auto-start.js';
export { startAttachSession, ATTACH_BIND_HOST, type AttachSession, type ForwardedPort } from './attach-session.js';
export { waitForRunningReplica } from './attach-wait.js';
export { followAttachLogs } from './attach-logs.js';
