import { Flags } from '@oclif/core';
import { BaseCommand } from './base.js';

export default class Server extends BaseCommand {
  static override summary = 'Run the dstack server (daemon) in the foreground.';
  static override description =
    'Serves the control API, the service proxy and the model endpoint, and keeps runs in their desired state. ' +
    'One server runs per DSTACK_HOME. Stopping it (Ctrl+C, SIGTERM) leaves every replica running; the next server adopts them. ' +
    'Several servers may share one PostgreSQL database: one leads, the others relay to it and take over when it stops.';
  static override examples = [
    'dstack server',
    'dstack server --port 3001',
    'dstack server --host 0.0.0.0 --port 3000 --tls-cert cert.pem --tls-key key.pem',
    'dstack server --host 0.0.0.0 --insecure-http  # behind a proxy that terminates TLS',
    'DSTACK_DATABASE_URL=postgres://… dstack server --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem --advertise-url https://server-2:3000',
  ];
  static override flags = {
    host: Flags.string({ description: 'Address to listen on (env DSTACK_SERVER_HOST). Default 127.0.0.1.' }),
    port: Flags.integer({ description: 'Port to listen on (env DSTACK_SERVER_PORT). Default 3000; 0 picks a free one.', min: 0, max: 65535 }),
    home: Flags.string({ description: 'The dstack home folder (env DSTACK_HOME). Default ~/.dstack.' }),
    'tls-cert': Flags.string({ description: 'PEM certificate (chain) to serve HTTPS with (env DSTACK_SERVER_TLS_CERT, config.yml server.tls_cert). Needs --tls-key.' }),
    'tls-key': Flags.string({ description: 'PEM private key of --tls-cert (env DSTACK_SERVER_TLS_KEY, config.yml server.tls_key).' }),
    'advertise-url': Flags.string({
      description:
        'Where the other servers on the same database reach this one when it leads (env DSTACK_SERVER_ADVERTISE_URL, config.yml server.advertise_url). Default: the host (this machine\'s name for 0.0.0.0) and port.',
    }),
    'insecure-http': Flags.boolean({
      description: 'Serve plain HTTP on a non-loopback --host (tokens cross the network unencrypted). Without it, such a host needs --tls-cert/--tls-key.',
      allowNo: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Server);
    // Loaded here, not at the top: every other command shares the registry, and must not pay for the daemon and ssh2.
    const { serveUntilSignal } = await import('../daemon/serve.js');
    await serveUntilSignal(
      {
        ...(flags.home !== undefined ? { home: flags.home } : {}),
        ...(flags.host !== undefined ? { host: flags.host } : {}),
        ...(flags.port !== undefined ? { port: flags.port } : {}),
        ...(flags['tls-cert'] !== undefined ? { tlsCert: flags['tls-cert'] } : {}),
        ...(flags['tls-key'] !== undefined ? { tlsKey: flags['tls-key'] } : {}),
        ...(flags['insecure-http'] ? { insecureHttp: true } : {}),
        ...(flags['advertise-url'] !== undefined ? { advertiseUrl: flags['advertise-url'] } : {}),
        log: (line) => this.io.stderr.write(`${line}\n`),
      },
      (line) => this.print(line),
    );
  }
}
