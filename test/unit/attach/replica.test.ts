import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../../src/core/api.js';
import { attachInfoOf } from '../../../src/core/attach/info.js';
import { pickAttachReplica } from '../../../src/core/attach/replica.js';
import { attachTarget, needsAddress } from '../../../src/core/attach/target.js';
import type { RunRecord } from '../../../src/core/state/schema.js';

const r = (num: number, submission: number, status: JobStatus) => ({ num, submission, status });

describe('which replica an attach gets (dstack Run._find_job)', () => {
  it('--replica N: the live submission of N, else its latest', () => {
    const replicas = [r(0, 0, 'failed'), r(0, 1, 'running'), r(1, 0, 'terminated'), r(1, 2, 'failed')];
    expect(pickAttachReplica(replicas, 0)).toEqual(r(0, 1, 'running'));
    expect(pickAttachReplica(replicas, 1)).toEqual(r(1, 2, 'failed'));
    expect(pickAttachReplica(replicas, 2)).toBeUndefined();
  });

  it('by default the lowest-numbered running replica, else the lowest-numbered one', () => {
    expect(pickAttachReplica([r(0, 0, 'provisioning'), r(2, 0, 'running'), r(1, 0, 'running')])).toEqual(r(1, 0, 'running'));
    expect(pickAttachReplica([r(1, 0, 'pulling'), r(0, 3, 'failed'), r(0, 4, 'submitted')])).toEqual(r(0, 4, 'submitted'));
    expect(pickAttachReplica([])).toBeUndefined();
  });
});

describe('where a replica port answers on its host', () => {
  it('the service port at its published loopback port; other container ports at the container address', () => {
    const docker = { runtime: 'docker' as const, hostPort: 32768, address: '172.17.0.3' };
    expect(attachTarget(docker, 8000, 8000, 'r')).toEqual({ host: '127.0.0.1', port: 32768 });
    expect(attachTarget(docker, 8000, 9000, 'r')).toEqual({ host: '172.17.0.3', port: 9000 });
    expect(needsAddress({ runtime: 'docker', hostPort: 32768 }, 8000, 8000)).toBe(false);
    expect(needsAddress({ runtime: 'docker', hostPort: 32768 }, 8000, 9000)).toBe(true);
  });

  it('a process replica listens on the host itself', () => {
    expect(attachTarget({ runtime: 'process', hostPort: 8000 }, 8000, 9000, 'r')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(needsAddress({ runtime: 'process' }, 8000, 9000)).toBe(false);
  });

  it('a container without a known address cannot be reached on other ports', () => {
    expect(() => attachTarget({ runtime: 'docker', hostPort: 1 }, 8000, 9000, 'replica 0 of web')).toThrow(/Port 9000 of replica 0 of web cannot be reached/);
  });
});

describe('the attach info of a run', () => {
  const run = {
    name: 'web',
    status: 'running',
    specTemplate: { port: 8000 },
    specTemplates: { workers: { port: 9000 } },
    replicas: [
      { ...r(0, 0, 'running'), instance: 'local', backend: 'local' },
      { ...r(1, 0, 'running'), group: 'workers', instance: 'h1', backend: 'ssh' },
    ],
  } as unknown as RunRecord;

  it("names the replica and its group's service port", () => {
    expect(attachInfoOf(run)).toEqual({ run: 'web', runStatus: 'running', servicePort: 8000, replica: { num: 0, submission: 0, status: 'running', instance: 'local', backend: 'local' } });
    expect(attachInfoOf(run, 1)).toMatchObject({ servicePort: 9000, replica: { num: 1, instance: 'h1' } });
  });

  it('an unknown replica number is an error listing the ones the run has', () => {
    expect(() => attachInfoOf(run, 5)).toThrow(expect.objectContaining({ code: 'REPLICA_NOT_FOUND', status: 404, hint: expect.stringContaining('0, 1') }));
  });

  it('a run without replicas yet has no replica to name', () => {
    expect(attachInfoOf({ ...run, status: 'submitted', replicas: [] } as RunRecord)).toEqual({ run: 'web', runStatus: 'submitted', servicePort: 8000 });
  });
});
