// ChannelSocket (src/backends/ssh/tunnel.ts) over a real ssh2 connection to test host h1: the socket semantics
// undici relies on, which ssh2's bare Channel lacks — destroy is immediate (destroyed, 'error', 'close' at once,
// not when the host answers CHANNEL_CLOSE) and a write after the host closed the channel fails instead of hanging.
// The forwarded ports are h1's own sshd (127.0.0.1:22), which greets at once, and a server started in h1's
// namespace for the test that answers "bye" and closes. Needs root and `scripts/test-hosts.sh up 1`.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelSocket, openChannel } from '../../../src/backends/ssh/tunnel.js';
import { sshConnect } from '../../helpers/ssh.js';
import { holdTestHosts, loadTestHosts } from '../../helpers/test-hosts.js';

const BYE_PORT = 11_181;
let client: Client;
let bye: ChildProcess;

holdTestHosts();

beforeAll(async () => {
  const h1 = loadTestHosts(1).hosts[0]!;
  const server = `require('net').createServer((s) => s.end('bye')).listen(${BYE_PORT}, '127.0.0.1', () => console.log('up'))`;
  bye = spawn('ip', ['netns', 'exec', h1.name, process.execPath, '-e', server], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(bye.stdout!, 'data');
  client = await sshConnect(h1);
});
afterAll(() => {
  client?.end();
  bye?.kill();
});

async function socketTo(port: number): Promise<ChannelSocket> {
  return new ChannelSocket((await openChannel(client, 'h1', port)) as never);
}

describe('ChannelSocket', () => {
  it('reads what the host sends, and destroy(err) is immediate: destroyed, the error, then close', async () => {
    const socket = await socketTo(22);
    const [greeting] = (await once(socket, 'data')) as [Buffer];
    expect(greeting.toString()).toMatch(/^SSH-2\.0-/);
    const events: string[] = [];
    socket.on('error', (e) => events.push(`error:${e.message}`));
    socket.on('close', () => events.push('close'));
    socket.destroy(new Error('reset by the client'));
    expect(socket.destroyed).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['error:reset by the client', 'close']);
  });

  it('the host ending the connection ends the socket; once the channel closed, a write fails instead of hanging', async () => {
    const socket = await socketTo(BYE_PORT);
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    await once(socket, 'end');
    expect(received).toBe('bye');
    // Half-open, like a TCP socket: our side ends too (undici destroys), and the host then closes the channel.
    const closed = once(socket, 'close');
    socket.end();
    await closed;
    expect(socket.destroyed).toBe(true);
    const err = await new Promise<Error | null | undefined>((resolve) => socket.write('more', resolve));
    expect(err).toBeInstanceOf(Error);
  });
});
