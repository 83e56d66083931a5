/**
 * Which endpoint a URL under /proxy/models names. dstack serves `/proxy/models/<project>/chat/completions`
 * (no `/v1`); OpenAI SDKs are usually configured with a base URL ending in `/v1`, so both spellings are served.
 */
export type ModelsEndpoint =
  | { kind: 'list' }
  | { kind: 'retrieve'; model: string }
  | { kind: 'chat' }
  | { kind: 'completions' }
  | { kind: 'embeddings' };

export interface ModelsRoute {
  project: string;
  endpoint: ModelsEndpoint | undefined;
  /** Path below the project (and `/v1`), e.g. `/chat/completions`, without the query. */
  subpath: string;
  /** `?…` or the empty string; passed on to `format: openai` replicas. */
  query: string;
}

const MOUNT = '/proxy/models';

/** Undefined when the URL names no project at all. The daemon may mount us with or without the prefix. */
export function parseModelsUrl(url: string): ModelsRoute | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  const rest = path.startsWith(`${MOUNT}/`) ? path.slice(MOUNT.length) : path;
  const segments = rest.split('/').filter((s) => s !== '');
  const [rawProject, ...tail] = segments;
  if (rawProject === undefined) return undefined;
  const project = safeDecode(rawProject);
  if (project === undefined) return undefined;
  const below = tail[0] === 'v1' ? tail.slice(1) : tail;
  const subpath = `/${below.join('/')}`;
  return { project, endpoint: endpointOf(below), subpath, query };
}

function endpointOf(s: string[]): ModelsEndpoint | undefined {
  const joined = s.join('/');
  if (joined === 'models') return { kind: 'list' };
  if (joined === 'chat/completions') return { kind: 'chat' };
  if (joined === 'completions') return { kind: 'completions' };
  if (joined === 'embeddings') return { kind: 'embeddings' };
  // Model names contain slashes (`meta-llama/Meta-Llama-3.1-8B-Instruct`); SDKs may also percent-encode them.
  if (s[0] === 'models' && s.length > 1) {
    const model = safeDecode(s.slice(1).join('/'));
    return model === undefined ? undefined : { kind: 'retrieve', model };
  }
  return undefined;
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
