// SSH into the namespace test hosts with ssh2, the same client the product uses, verifying each host's key
// against what test-hosts.sh recorded (a test must fail if it reached some other sshd).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { Client } from 'ssh2';
import { loadTestHosts, testHost, type TestHost } from './test-hosts.js';

/** Opens a verified SSH connection as the host's test user with the test key. Call `client.end()` when done. */
export function sshConnect(host: TestHost): Promise<Client> {
  const expected = host.hostKey.split(' ')[1];
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({
      host: host.ip,
      port: host.sshPort,
      username: host.user,
      privateKey: readFileSync(host.identityFile),
      readyTimeout: 20_000,
      hostVerifier: (key: Buffer) => key.toString('base64') === expected,
    });
  });
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` on an open connection and collects its output. */
export function sshExec(client: Client, cmd: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    client.exec(cmd, (err, stream) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      stream.on('data', (d: Buffer) => (stdout += d.toString()));
      stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      stream.on('close', (code: number | null) => resolve({ code, stdout, stderr }));
    });
  });
}

/** Runs a shell command on test host `name` (dstack-h1…) over a fresh SSH connection; DOCKER_HOST is that host's. */
export async function runInHost(name: string, cmd: string): Promise<ExecResult> {
  const client = await sshConnect(testHost(name, loadTestHosts()));
  try {
    return await sshExec(client, cmd);
  } finally {
    client.end();
  }
}

export interface Forward {
  /** Local port on 127.0.0.1 that reaches `remotePort` on the host's own 127.0.0.1. */
  port: number;
  close(): Promise<void>;
}

/** A local listener piping each connection through the SSH connection (forwardOut) to the host's 127.0.0.1:port. */
export function sshForward(client: Client, remotePort: number, remoteHost = '127.0.0.1'): Promise<Forward> {
  const server: Server = createServer((socket) => {
    client.forwardOut('127.0.0.1', 0, remoteHost, remotePort, (err, channel) => {
      if (err) return void socket.destroy(err);
      socket.pipe(channel).pipe(socket);
      socket.on('error', () => channel.close());
      channel.on('error', () => socket.destroy());
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no TCP address'));
      resolve({ port: address.port, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}
