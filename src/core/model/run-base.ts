/**
 * Fields shared by all run configurations (dstack `BaseRunConfiguration` + `ConfigurationWithCommandsParams`):
 * image and python, commands, env, resources, volumes, files, repos.
 */
import { z } from 'zod';
import { Env } from './env.js';
import { Resources } from './resources.js';
import { byType, strictObject } from './strict.js';

export const RESOURCE_NAME = /^[a-z][a-z0-9-]{1,40}$/;
export const PYTHON_VERSIONS = ['3.9', '3.10', '3.11', '3.12', '3.13', '3.14'] as const;
export type PythonVersion = (typeof PYTHON_VERSIONS)[number];

export const ResourceName = z.string().regex(RESOURCE_NAME, 'must start with a lowercase letter and contain only lowercase letters, digits and `-` (2..41 characters)');

/** YAML reads `python: 3.10` as the float 3.1; dstack reads it as "3.10", and so do we. */
export const Python = byType({
  string: z.string(),
  number: z.number().transform((n) => (String(n) === '3.1' ? '3.10' : String(n))),
}, 'a Python version like "3.12"').pipe(
  z.string().refine((v): v is PythonVersion => (PYTHON_VERSIONS as readonly string[]).includes(v), {
    message: `unsupported Python version; expected one of ${PYTHON_VERSIONS.join(', ')}`,
  }),
).transform((v) => v as PythonVersion);

export type VolumeMountConfig =
  | { type: 'network'; name: string[]; path: string }
  | { type: 'instance'; instance_path: string; path: string; optional: boolean };

const absPath = z.string().refine((p) => p.startsWith('/') && !p.split('/').includes('..'), 'must be an absolute path without `..`');

const VolumeShort = z.string().transform((s, ctx): VolumeMountConfig => {
  const parts = s.split(':');
  const [src = '', dst = ''] = parts;
  if (parts.length !== 2 || src === '' || dst === '') {
    ctx.addIssue({ code: 'custom', message: `invalid volume \`${s}\`; expected \`volume-name:/container/path\` or \`/instance/path:/container/path\`` });
    return z.NEVER;
  }
  const bad = [src.includes('/') ? src : '/', dst].find((p) => !p.startsWith('/') || p.split('/').includes('..'));
  if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `invalid volume \`${s}\`: \`${bad}\` must be an absolute path without \`..\`` });
  return src.includes('/') ? { type: 'instance', instance_path: src, path: dst, optional: false } : { type: 'network', name: [src], path: dst };
});

const VolumeLong = strictObject({
  name: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional().describe('The network volume name, or a list of names (any one of them is mounted).'),
  instance_path: absPath.optional().describe('The absolute path on the instance (host), for instance volumes.'),
  path: absPath.describe('The absolute container path to mount the volume at.'),
  optional: z.boolean().optional().describe('Instance volumes: skip the mount on backends without instance volumes.'),
}).transform((v, ctx): VolumeMountConfig => {
  if ((v.name === undefined) === (v.instance_path === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'a volume needs exactly one of `name` (network volume) or `instance_path` (instance volume)' });
  }
  if (v.instance_path !== undefined) return { type: 'instance', instance_path: v.instance_path, path: v.path, optional: v.optional ?? false };
  return { type: 'network', name: typeof v.name === 'string' ? [v.name] : v.name ?? [], path: v.path };
});

export const Volume = byType({ string: VolumeShort, object: VolumeLong }, '`name:/path`, `/host/path:/path` or an object with `name` or `instance_path` and `path`');

export interface FileMapping {
  local_path: string;
  path: string;
}
export const FileMount = byType({
  string: z.string().min(1).transform((s): FileMapping => {
    const i = s.lastIndexOf(':');
    return i <= 0 ? { local_path: s, path: s } : { local_path: s.slice(0, i), path: s.slice(i + 1) };
  }),
  object: strictObject({
    local_path: z.string().min(1).describe('The local file or folder.'),
    path: z.string().min(1).optional().describe('The path in the container. Defaults to `local_path`.'),
  }).transform((f): FileMapping => ({ local_path: f.local_path, path: f.path ?? f.local_path })),
}, '`local[:container]` or an object with `local_path` and `path`');

export interface RepoSpec {
  local_path?: string;
  url?: string;
  branch?: string;
  hash?: string;
  path: string;
  if_exists: 'error' | 'skip';
}

/** Whether a repo source is a git URL (`scheme://…` or scp-like `user@host:path`) rather than a local path. */
export const isRepoUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || /^[\w.-]+@[\w.-]+:/.test(s);
function parseRepoShort(s: string): RepoSpec {
  const head = /^[a-z][a-z0-9+.-]*:\/\/[^/]*|^[\w.-]+@[\w.-]+:/i.exec(s)?.[0] ?? '';
  const i = s.indexOf(':', head.length);
  const source = i < 0 ? s : s.slice(0, i);
  const path = i < 0 ? '.' : s.slice(i + 1);
  return { ...(isRepoUrl(source) ? { url: source } : { local_path: source }), path, if_exists: 'error' };
}

export const Repo = byType({
  string: z.string().min(1).transform(parseRepoShort),
  object: strictObject({
    local_path: z.string().min(1).optional().describe('A local folder with the repo.'),
    url: z.string().min(1).optional().describe('The repo URL.'),
    branch: z.string().optional().describe('The branch to check out.'),
    hash: z.string().optional().describe('The commit to check out.'),
    path: z.string().default('.').describe('Where to put the repo in the container. Defaults to `.` (the working directory).'),
    if_exists: z.enum(['error', 'skip']).default('error').describe('What to do when `path` is not empty: `error` or `skip`.'),
  }).transform((r, ctx): RepoSpec => {
    if ((r.local_path === undefined) === (r.url === undefined)) ctx.addIssue({ code: 'custom', message: 'a repo needs exactly one of `local_path` or `url`' });
    return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as RepoSpec;
  }),
}, 'a path or URL (optionally `:container/path`), or an object with `local_path` or `url`');

export const RegistryAuth = strictObject({
  username: z.string().describe('The username. Supports `${{ env.NAME }}`.'),
  password: z.string().describe('The password or access token. Supports `${{ env.NAME }}`.'),
});

const Shell = z.string().refine((s) => s === 'sh' || s === 'bash' || s.startsWith('/'), 'expected `sh`, `bash` or an absolute path');

/** Shape of the shared run fields, spread into the service shape (and replica groups pick from it). */
export const runBaseShape = {
  name: ResourceName.optional().describe('The run name. If not specified, a random name is generated.'),
  image: z.string().min(1).optional().describe('The name of the Docker image to run.'),
  user: z.string().regex(/^[\w.-]+(:[\w.-]+)?$/, 'expected `user[:group]` (names or ids)').optional()
    .describe('The user inside the container, `user_name_or_id[:group_name_or_id]` (e.g. `ubuntu`, `1000:1000`).'),
  privileged: z.boolean().default(false).describe('Run the container in privileged mode.'),
  entrypoint: z.string().optional().describe('The Docker entrypoint.'),
  working_dir: z.string().optional().describe('The working directory inside the container. Defaults to the repo directory.'),
  home_dir: z.string().optional().describe('Deprecated; ignored.'),
  registry_auth: RegistryAuth.optional().describe('Credentials for pulling a private Docker image.'),
  python: Python.optional().describe('The major version of Python (3.9..3.14). Mutually exclusive with `image`.'),
  nvcc: z.boolean().optional().describe('Use an image with the NVIDIA CUDA Compiler (NVCC) included. Mutually exclusive with `image`.'),
  docker: z.boolean().optional().describe('Run Docker inside the run (Docker-in-Docker, privileged). Mutually exclusive with `image`, `python` and `nvcc`.'),
  single_branch: z.boolean().optional().describe('Clone only the current branch of the repo.'),
  env: Env,
  shell: Shell.optional().describe('The shell that runs `commands`: `sh`, `bash` or an absolute path.'),
  resources: Resources,
  priority: z.number().int().min(0).max(100).default(0).describe('The run priority, 0..100. Higher runs are scheduled first.'),
  volumes: z.array(Volume).default([]).describe('The volumes mount points.'),
  files: z.array(FileMount).default([]).describe('Local files to upload, `local[:container]` mappings.'),
  repos: z.array(Repo).max(1, 'at most one repo is supported').default([]).describe('The repo to put in the container (at most one).'),
  dstack: z.boolean().optional().describe('Expose the dstack server inside the run.'),
  setup: z.array(z.string()).optional().describe('Deprecated; ignored. Put these commands in `commands`.'),
  commands: z.array(z.string()).default([]).describe('The shell commands to run.'),
};
