import { describe, expect, it } from 'vitest';
import { buildSpecTemplate, defaultImage, joinCommands, resolveShell } from '../../../src/core/runs/index.js';
import { UserError } from '../../../src/core/errors.js';
import { service } from './fixtures.js';

const ctx = (env: NodeJS.ProcessEnv = {}) => ({ project: 'main', runName: 'svc', env });

describe('commands and shell (as dstack builds them)', () => {
  it('joins commands with && and wraps background commands', () => {
    expect(joinCommands(['pip install x', 'python worker.py &', 'python app.py'])).toBe('pip install x && { python worker.py & } && python app.py');
  });
  it('keeps a trailing && command alone and drops empty commands', () => {
    expect(joinCommands(['  a  ', '', 'b'])).toBe('a && b');
  });
  it('uses bash for the dstack base image, sh for custom images, and the shell: override', () => {
    expect(resolveShell(undefined, true)).toBe('/bin/bash');
    expect(resolveShell(undefined, false)).toBe('/bin/sh');
    expect(resolveShell('bash', false)).toBe('/bin/bash');
    expect(resolveShell('/usr/bin/zsh', true)).toBe('/usr/bin/zsh');
  });
});

describe('default image', () => {
  it('follows dstack naming', () => {
    expect(defaultImage(false)).toBe('dstackai/base:0.15-base-ubuntu24.04');
    expect(defaultImage(true)).toBe('dstackai/base:0.15-devel-ubuntu24.04');
  });
});

describe('buildSpecTemplate', () => {
  it('default image + python: uv venv bootstrap, bash', () => {
    const spec = buildSpecTemplate(service({ python: '3.10' }), ctx());
    expect(spec.image).toBe('dstackai/base:0.15-base-ubuntu24.04');
    expect(spec.shell).toBe('/bin/bash');
    expect(spec.imageSetup).toEqual(['uv venv -q --prompt dstack -p 3.10 --seed /dstack/venv', '. /dstack/venv/bin/activate']);
    expect(spec.commands).toEqual(['python3 -m http.server']);
  });

  it('DSTACK_BASE_IMAGE replaces the base image (no venv bootstrap, /bin/sh)', () => {
    const spec = buildSpecTemplate(service({ python: '3.10', nvcc: true }), ctx({ DSTACK_BASE_IMAGE: 'dstack-test/python:latest' }));
    expect([spec.image, spec.shell, spec.commands]).toEqual(['dstack-test/python:latest', '/bin/sh', ['python3 -m http.server']]);
  });

  it('maps the container port, env, user, privileged, shm_size, stop timeout, instance volumes', () => {
    const config = service({
      image: 'img:1',
      port: 9000,
      env: { A: '1', B: '' },
      user: '1000:1000',
      privileged: true,
      stop_duration: 30,
      volumes: ['/data:/mnt/data'],
    });
    // 1 KiB is below what the config language's `shm_size` grammar (MB and up) can write.
    const spec = buildSpecTemplate({ ...config, resources: { ...config.resources, shm_size: 1024 } }, ctx());
    expect(spec).toMatchObject({
      image: 'img:1', port: 9000, env: { A: '1', B: '' }, user: '1000:1000', privileged: true, shmSizeBytes: 1024,
      stopTimeoutSeconds: 30, volumes: [{ hostPath: '/data', containerPath: '/mnt/data', readOnly: false, create: true }],
    });
  });

  it('caps stop_duration: off at an hour', () => {
    expect(buildSpecTemplate(service({ stop_duration: 'off' }), ctx()).stopTimeoutSeconds).toBe(3600);
  });

  it('puts a relative working_dir under /workflow', () => {
    expect(buildSpecTemplate(service({ working_dir: 'app' }), ctx()).workingDir).toBe('/workflow/app');
    expect(buildSpecTemplate(service({ working_dir: '/srv' }), ctx()).workingDir).toBe('/srv');
  });

  it('refuses an unresolved required env variable, naming it', () => {
    const err = (() => {
      try {
        buildSpecTemplate(service({ env: ['HF_TOKEN'] }), ctx());
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('ENV_NOT_SET');
    expect((err as UserError).message).toBe('Environment variable HF_TOKEN is not set');
  });

  it('no commands and no image → cannot determine what to run', () => {
    // The config language refuses such a config; the spec builder still guards against it.
    expect(() => buildSpecTemplate({ ...service(), commands: [] }, ctx())).toThrow('Could not determine what command to run');
  });
});
