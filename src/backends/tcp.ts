/**
 * A plain TCP connection as a promise that settles once it is connected or has failed, for the local backend's
 * `openTcp`. The socket's own error codes (ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT) come through unchanged: the
 * attach handler classifies them, as the proxy classifies a refused upstream.
 */
import { connect, type Socket } from 'node:net';

export function connectTcp(host: string, port: number, timeoutMs = 10_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    const fail = (e: Error) => {
      socket.destroy();
      reject(e);
    };
    // A host that drops SYNs would otherwise hold the attach connection for the kernel's minutes-long retry.
    socket.setTimeout(timeoutMs, () => fail(Object.assign(new Error(`connecting to ${host}:${port} timed out`), { code: 'ETIMEDOUT' })));
    socket.once('error', fail);
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}
