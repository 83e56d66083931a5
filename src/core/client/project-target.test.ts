import { describe, expect, it } from 'vitest';
import { defaultHomeConfig, localServerConfig, type HomeConfig } from '../home/config-file.js';
import { projectTarget } from './project-target.js';

const remote = { name: 'team', url: 'https://dstack.example.com/', token: 't', tokens: [], backends: [] };
const home = (over: Partial<HomeConfig> = {}): HomeConfig => ({ ...defaultHomeConfig('me'), ...over });

describe('projectTarget', () => {
  it('keeps the unprefixed routes of the local default project when nothing is asked', () => {
    expect(projectTarget(home(), undefined)).toEqual({ kind: 'local' });
    expect(projectTarget(home(), 'main')).toEqual({ kind: 'local' });
  });

  it('prefixes another project of the local daemon, configured or made with `project create`', () => {
    expect(projectTarget(home(), 'other')).toEqual({ kind: 'local', project: 'other' });
  });

  it('sends a project with a url to its server, with its own token', () => {
    const c = home({ projects: [...home().projects, remote] });
    expect(projectTarget(c, 'team')).toEqual({ kind: 'remote', project: 'team', url: 'https://dstack.example.com', token: 't' });
    expect(projectTarget({ ...c, default_project: 'team' }, undefined)).toMatchObject({ kind: 'remote', project: 'team' });
    expect(projectTarget({ ...c, default_project: 'team' }, 'main')).toEqual({ kind: 'local' });
  });

  it('names the entry whose token is missing', () => {
    const c = home({ projects: [...home().projects, { ...remote, token: undefined }] as HomeConfig['projects'] });
    expect(() => projectTarget(c, 'team')).toThrow(/no token/);
  });
});

describe('localServerConfig', () => {
  it('drops projects of other servers and keeps a local default when the CLI default is remote', () => {
    const c = home({ default_project: 'team', projects: [...home().projects, remote] });
    expect(localServerConfig(c)).toMatchObject({ default_project: 'main', projects: [{ name: 'main' }] });
    const plain = home();
    expect(localServerConfig(plain)).toEqual(plain);
  });
});
