import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ReplicaSpec } from '../../../src/core/model/agent-api.js';
import { createOptions, gpuHostConfig } from '../../../src/agent/docker/create-options.js';
import { mapDockerError } from '../../../src/agent/docker/errors.js';
import { DockerLogDemuxer, demuxBuffer, lastLines } from '../../../src/agent/docker/logs.js';
import { PullProgressTracker, isLatestTag, registryOf } from '../../../src/agent/docker/pull.js';
import { makeTokenCheck } from '../../../src/agent/http/auth.js';
import { systemdUnit } from '../../../src/agent/install/install.js';
import { containerCommand, joinCommands, processArgv, replicaEnv, splitShellWords } from '../../../src/agent/replicas/command.js';

const spec = (over: Record<string, unknown> = {}) =>
  ReplicaSpec.parse({ id: 'svc-0-0', runName: 'svc', replicaNum: 0, image: 'img:1', port: 8000, ...over });

const frame = (type: number, payload: string | Buffer) => {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
};

describe('commands and entrypoint, as dstack applies them', () => {
  it('splits an entrypoint like shlex', () => {
    expect(splitShellWords(`python -m "my app" --name='a b' x\\ y`)).toEqual(['python', '-m', 'my app', '--name=a b', 'x y']);
    expect(() => splitShellWords('echo "open')).toThrow(/unterminated/);
  });

  it('joins commands with && and wraps backgrounded ones', () => {
    expect(joinCommands(['pip install x', 'server &', 'sleep 1'])).toBe('pip install x && { server & } && sleep 1');
  });

  it('uses entrypoint + commands as args, else <shell> -c, else the image defaults', () => {
    expect(containerCommand(spec({ entrypoint: 'python -m http.server', commands: ['8000'] }))).toEqual({ entrypoint: ['python', '-m', 'http.server'], cmd: ['8000'] });
    expect(containerCommand(spec({ commands: ['a', 'b'], shell: '/bin/bash' }))).toEqual({ entrypoint: ['/bin/bash', '-c'], cmd: ['a && b'] });
    expect(containerCommand(spec())).toEqual({});
  });

  it('sets the DSTACK_* variables, with user env winning', () => {
    const env = replicaEnv(spec({ replicaNum: 2, gpus: { vendor: 'nvidia', ids: ['GPU-a', 'GPU-b'] }, env: { A: '1' } }));
    expect(env).toMatchObject({ DSTACK_RUN_NAME: 'svc', DSTACK_SERVICE_PATH_PREFIX: '/proxy/services/main/svc', DSTACK_REPLICA_NUM: '2', DSTACK_GPUS_NUM: '2', DSTACK_GPUS_PER_NODE: '2', DSTACK_NODES_NUM: '1', DSTACK_NODE_RANK: '0', A: '1' });
  });
});

describe('Docker create options', () => {
  it('publishes the service port on 127.0.0.1 only, with labels, limits and mounts', () => {
    const o = createOptions(spec({ cpuLimit: 1.5, memoryLimitBytes: 1 << 30, shmSizeBytes: 1 << 28, volumes: [{ hostPath: '/a', containerPath: '/b', readOnly: true }] }), 'agent-1', 5);
    expect(o.HostConfig?.PortBindings).toEqual({ '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    expect(o.HostConfig).toMatchObject({ NanoCpus: 1.5e9, Memory: 1 << 30, ShmSize: 1 << 28, Binds: ['/a:/b:ro'] });
    expect(o.Labels).toMatchObject({ 'ai.dstack.agent': 'agent-1', 'ai.dstack.replica-id': 'svc-0-0', 'ai.dstack.managed': 'true' });
  });

  it('keeps registry credentials and env out of labels', () => {
    const o = createOptions(spec({ registryAuth: { username: 'u', password: 'pw-secret' }, env: { TOKEN: 'env-secret' } }), 'a', 1);
    expect(JSON.stringify(o.Labels)).not.toMatch(/pw-secret|env-secret/);
  });

  it('requests NVIDIA GPUs by UUID and AMD GPUs by render node', () => {
    expect(gpuHostConfig({ gpus: { vendor: 'nvidia', ids: ['GPU-1'] } }).DeviceRequests?.[0]).toMatchObject({ Driver: 'nvidia', DeviceIDs: ['GPU-1'] });
    const amd = gpuHostConfig({ gpus: { vendor: 'amd', ids: ['/dev/dri/renderD128'] } });
    expect(amd.Devices?.map((d: { PathOnHost: string }) => d.PathOnHost)).toEqual(['/dev/kfd', '/dev/dri/renderD128']);
    expect(amd).toMatchObject({ IpcMode: 'host', CapAdd: ['SYS_PTRACE'] });
  });
});

describe('Docker errors are mapped by status and errno', () => {
  it('maps socket errors, 404 and 401 pulls, and a runc unknown user', () => {
    expect(mapDockerError(Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' }), 'pull').code).toBe('DOCKER_UNAVAILABLE');
    expect(mapDockerError({ statusCode: 404, json: { message: 'manifest unknown' } }, 'pull', 'x').code).toBe('IMAGE_NOT_FOUND');
    expect(mapDockerError({ statusCode: 401 }, 'pull', 'x').code).toBe('PULL_DENIED');
    expect(mapDockerError({ statusCode: 500, json: { message: 'unable to find user bob: no matching entries in passwd file' } }, 'start').code).toBe('UNKNOWN_USER');
    expect(mapDockerError({ statusCode: 500, json: { message: 'could not select device driver "nvidia" with capabilities: [[gpu]]' } }, 'start').code).toBe('GPU_UNAVAILABLE');
  });
});

describe('logs', () => {
  it('demultiplexes frames split at any byte, keeping invalid UTF-8 bytes', async () => {
    const raw = Buffer.concat([frame(1, 'out\n'), frame(2, Buffer.from([0xff, 0xfe, 0x0a])), frame(1, 'x'.repeat(70_000))]);
    const demux = new DockerLogDemuxer();
    const chunks: Buffer[] = [];
    demux.on('data', (c: Buffer) => chunks.push(c));
    const done = new Promise((r) => demux.on('end', r));
    for (let i = 0; i < raw.length; i += 97) demux.write(raw.subarray(i, i + 97));
    demux.end();
    await done;
    const out = Buffer.concat(chunks);
    expect(out).toEqual(Buffer.concat([Buffer.from('out\n'), Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from('x'.repeat(70_000))]));
    expect(demuxBuffer(raw)).toEqual(out);
  });

  it('keeps the last non-empty lines, each capped', () => {
    expect(lastLines('a\n\nb\nc\n' + 'd'.repeat(600) + '\n', 2, 10)).toEqual(['c', 'dddddddddd…']);
  });
});

describe('pull progress', () => {
  it('counts layers and bytes from the pull stream', () => {
    const p = new PullProgressTracker();
    p.add({ status: 'Pulling from team/app', id: 'v1' });
    p.add({ status: 'Pulling fs layer', id: 'l1' });
    p.add({ status: 'Already exists', id: 'l2' });
    p.add({ status: 'Downloading', id: 'l1', progressDetail: { current: 50, total: 200 } });
    expect(p.snapshot()).toEqual({ layersTotal: 2, layersDone: 1, bytesTotal: 200, bytesDone: 50 });
    p.add({ status: 'Pull complete', id: 'l1' });
    expect(p.snapshot()).toEqual({ layersTotal: 2, layersDone: 2, bytesTotal: 200, bytesDone: 200 });
  });

  it('knows latest tags and registry hosts', () => {
    expect(isLatestTag('busybox')).toBe(true);
    expect(isLatestTag('localhost:5000/a/b')).toBe(true);
    expect(isLatestTag('a/b:1.2')).toBe(false);
    expect(isLatestTag('a/b@sha256:00')).toBe(false);
    expect(registryOf('ghcr.io/x/y:1')).toBe('ghcr.io');
    expect(registryOf('library/nginx')).toBe('https://index.docker.io/v1/');
  });
});

describe('auth and install', () => {
  it('accepts only the exact bearer token', () => {
    const check = makeTokenCheck('s3cret');
    const req = (authorization?: string) => ({ headers: authorization ? { authorization } : {} }) as IncomingMessage;
    expect(check(req('Bearer s3cret'))).toBe(true);
    expect(check(req('Bearer s3cre'))).toBe(false);
    expect(check(req('s3cret'))).toBe(false);
    expect(check(req())).toBe(false);
  });

  it('writes a restart-always unit that keeps replicas alive on stop', () => {
    const unit = systemdUnit(['/usr/local/bin/dstack-agent', 'start', '--token-file', '/root/.dstack-agent/token'], {});
    expect(unit).toContain('ExecStart=/usr/local/bin/dstack-agent start --token-file /root/.dstack-agent/token');
    expect(unit).toContain('Restart=always');
    expect(unit).toContain('KillMode=process');
  });
});

describe('imageSetup', () => {
  const spec = { commands: ['python3 -m http.server'], imageSetup: ['uv venv /dstack/venv', '. /dstack/venv/bin/activate'], shell: '/bin/bash' };

  it('runs before the commands in a container', () => {
    expect(containerCommand(spec)).toEqual({
      entrypoint: ['/bin/bash', '-c'],
      cmd: ['uv venv /dstack/venv && . /dstack/venv/bin/activate && python3 -m http.server'],
    });
  });

  it('is skipped by the process runtime, which runs on the bare host', () => {
    expect(processArgv(spec)).toEqual(['/bin/bash', '-c', 'python3 -m http.server']);
  });
});
