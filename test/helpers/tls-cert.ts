// A self-signed certificate made with the real openssl for the TLS tests; the name is deliberately not 127.0.0.1,
// as a server's certificate names its public host while local CLIs connect over loopback.
import { execa } from 'execa';
import { join } from 'node:path';

export interface TestCert {
  cert: string;
  key: string;
}

export async function makeCert(dir: string, name = 'server'): Promise<TestCert> {
  const cert = join(dir, `${name}-cert.pem`);
  const key = join(dir, `${name}-key.pem`);
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=dstack.example', '-addext', 'subjectAltName=DNS:dstack.example', '-keyout', key, '-out', cert]);
  return { cert, key };
}
