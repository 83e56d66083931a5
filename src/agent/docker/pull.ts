import type Docker from 'dockerode';
import type { PullProgress } from '../../core/model/agent-api.js';
import { AgentError } from '../errors.js';
import { mapDockerError } from './errors.js';

/** One line of the engine's pull stream (`POST /images/create`). */
interface PullEvent {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Folds pull events into bytes/layers totals for the CLI's progress bar. Layers are counted from the
 * per-layer lines; bytes are the sum of each layer's latest `Downloading` detail (a finished layer counts whole).
 */
export class PullProgressTracker {
  private readonly layers = new Map<string, { total: number; current: number; done: boolean }>();

  add(event: PullEvent): void {
    const id = event.id;
    const status = event.status ?? '';
    // Lines about the whole image ("Pulling from x", "Digest: …", "Status: …") carry a tag, not a layer id.
    if (!id || status.startsWith('Pulling from') || status.startsWith('Digest') || status.startsWith('Status')) return;
    const layer = this.layers.get(id) ?? { total: 0, current: 0, done: false };
    const detail = event.progressDetail;
    if (status === 'Downloading' && detail?.total) {
      layer.total = detail.total;
      layer.current = detail.current ?? layer.current;
    }
    if (status === 'Download complete' || status === 'Pull complete' || status === 'Already exists') {
      layer.current = layer.total;
      if (status !== 'Download complete') layer.done = true;
    }
    this.layers.set(id, layer);
  }

  snapshot(): PullProgress {
    let bytesTotal = 0;
    let bytesDone = 0;
    let layersDone = 0;
    for (const l of this.layers.values()) {
      bytesTotal += l.total;
      bytesDone += l.current;
      if (l.done) layersDone++;
    }
    return { layersTotal: this.layers.size, layersDone, bytesTotal, bytesDone };
  }
}

export interface PullOptions {
  auth?: { username: string; password: string } | undefined;
  signal?: AbortSignal;
  onProgress?: (progress: PullProgress) => void;
}

/**
 * Pulls an image and resolves when the engine reports the end of the stream. An `error` line inside the
 * stream (after HTTP 200) is a failed pull too; it carries no status code, so it maps to PULL_FAILED.
 */
export async function pullImage(docker: Docker, image: string, options: PullOptions = {}): Promise<void> {
  const auth = options.auth ? { username: options.auth.username, password: options.auth.password, serveraddress: registryOf(image) } : undefined;
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.pull(image, { ...(auth ? { authconfig: auth } : {}), ...(options.signal ? { abortSignal: options.signal } : {}) })) as NodeJS.ReadableStream;
  } catch (e) {
    throw mapDockerError(e, 'pull', image);
  }
  const tracker = new PullProgressTracker();
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    let failed: AgentError | undefined;
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        let event: PullEvent;
        try {
          event = JSON.parse(line) as PullEvent;
        } catch {
          continue;
        }
        if (event.error !== undefined) {
          failed ??= new AgentError('PULL_FAILED', `pulling ${image} failed: ${event.errorDetail?.message ?? event.error}`, 502);
          continue;
        }
        tracker.add(event);
        options.onProgress?.(tracker.snapshot());
      }
    });
    stream.on('error', (e: unknown) => reject(options.signal?.aborted ? new AgentError('ABORTED', 'pull aborted', 499) : mapDockerError(e, 'pull', image)));
    stream.on('end', () => (failed ? reject(failed) : resolve()));
  });
}

/** Docker Hub when the first path part is not a host name (`registry.example.com/x`, `localhost:5000/x`). */
export function registryOf(image: string): string {
  const first = image.split('/')[0] ?? '';
  const isHost = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return isHost ? first : 'https://index.docker.io/v1/';
}

/** `:latest` or untagged references are re-pulled when a registry answers (dstack's rule). */
export function isLatestTag(image: string): boolean {
  const withoutDigest = image.split('@')[0] ?? image;
  if (image.includes('@')) return false;
  const lastPart = withoutDigest.split('/').pop() ?? '';
  return !lastPart.includes(':') || lastPart.endsWith(':latest');
}
