import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/**
 * A minimal Docker Registry HTTP API v2 on 127.0.0.1 (no registry can be pulled or reached here): it serves one
 * image (busybox as /bin/sh), answers 404 `MANIFEST_UNKNOWN` for any other name, and demands Basic auth
 * when credentials are configured. The engine treats 127.0.0.0/8 registries as insecure (plain HTTP) by default.
 */
export interface TestRegistry {
  host: string;
  /** Requests seen, for assertions on auth. */
  requests: Array<{ method: string; url: string; authorization?: string }>;
  close(): Promise<void>;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A tar of regular files (ustar), enough for an image layer. */
export function tarOf(files: Array<{ name: string; content: Buffer; mode: number }>): Buffer {
  return Buffer.concat([...files.map((f) => tarEntry(f.name, f.content, f.mode)), Buffer.alloc(1024)]);
}

function tarEntry(name: string, content: Buffer, mode: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write(mode.toString(8).padStart(7, '0') + '\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(content.length.toString(8).padStart(11, '0') + '\0', 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, pad]);
}

export async function startTestRegistry(options: { repo: string; credentials?: { username: string; password: string } }): Promise<TestRegistry> {
  // busybox as /bin/sh: the image can run `commands` (the shell's builtins), like a real base image.
  const tar = tarOf([
    { name: 'bin/sh', content: readFileSync('/usr/bin/busybox'), mode: 0o755 },
    { name: 'hello.txt', content: Buffer.from('hello from the test registry\n'), mode: 0o644 },
  ]);
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha(tar)] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha(config) },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha(layer) }],
    }),
  );
  const blobs = new Map([[sha(layer), layer], [sha(config), config]]);
  const expectedAuth = options.credentials
    ? `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64')}`
    : undefined;
  const requests: TestRegistry['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const error = (status: number, code: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0', ...extra });
      res.end(JSON.stringify({ errors: [{ code, message: code.toLowerCase() }] }));
    };
    if (expectedAuth && req.headers.authorization !== expectedAuth) {
      return error(401, 'UNAUTHORIZED', { 'www-authenticate': 'Basic realm="test-registry"' });
    }
    const url = req.url ?? '';
    if (url === '/v2/' || url === '/v2') {
      res.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0' });
      return res.end('{}');
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url);
    if (!m) return error(404, 'NOT_FOUND');
    const [, repo, kind, ref] = m;
    if (repo !== options.repo) return error(404, kind === 'manifests' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN');
    const body = kind === 'manifests' ? manifest : blobs.get(ref ?? '');
    if (!body) return error(404, 'BLOB_UNKNOWN');
    res.writeHead(200, {
      'content-type': kind === 'manifests' ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/octet-stream',
      'content-length': body.length,
      'docker-content-digest': kind === 'manifests' ? sha(manifest) : (ref ?? ''),
      'docker-distribution-api-version': 'registry/2.0',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
