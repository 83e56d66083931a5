import { describe, expect, it } from 'vitest';
import { parsePortMapping, planPortMappings, portInUseHint } from '../../../src/core/attach/port-mapping.js';
import { UserError } from '../../../src/core/errors.js';

describe('-p as dstack parses it', () => {
  it('REMOTE maps to the same local port, LOCAL:REMOTE as given, *:REMOTE to any free local port', () => {
    expect(parsePortMapping('8000')).toEqual({ local: 8000, remote: 8000 });
    expect(parsePortMapping('8080:8000')).toEqual({ local: 8080, remote: 8000 });
    expect(parsePortMapping('*:6006')).toEqual({ local: 0, remote: 6006 });
  });

  it.each(['', 'abc', '80:', ':80', '1:2:3', '0', '70000', '8080:0', '-1', '80-90'])('refuses %j naming the flag and the forms it takes', (value) => {
    let caught: unknown;
    try {
      parsePortMapping(value);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as UserError).code).toBe('INVALID_PORT_MAPPING');
    expect((caught as UserError).message).toContain('-p/--port');
    expect((caught as UserError).hint).toContain('LOCAL:REMOTE');
  });
});

describe('the mappings an attach opens', () => {
  it('forwards the service port to the same local port, then the extra ones', () => {
    expect(planPortMappings(8000, [])).toEqual([{ local: 8000, remote: 8000 }]);
    expect(planPortMappings(8000, [{ local: 9090, remote: 9090 }])).toEqual([
      { local: 8000, remote: 8000 },
      { local: 9090, remote: 9090 },
    ]);
  });

  it('a mapping of the service port replaces the default one (dstack overrides the local side)', () => {
    expect(planPortMappings(8000, [{ local: 18000, remote: 8000 }])).toEqual([{ local: 18000, remote: 8000 }]);
    expect(planPortMappings(8000, [{ local: 0, remote: 8000 }, { local: 0, remote: 6006 }])).toEqual([
      { local: 0, remote: 8000 },
      { local: 0, remote: 6006 },
    ]);
  });

  it('a repeated mapping is opened once; one local port for two remote ports is refused before anything binds', () => {
    expect(planPortMappings(8000, [{ local: 8000, remote: 8000 }, { local: 8000, remote: 8000 }])).toEqual([{ local: 8000, remote: 8000 }]);
    expect(() => planPortMappings(8000, [{ local: 8000, remote: 9000 }])).toThrow(/Local port 8000 is mapped to both 8000 and 9000/);
  });

  it('a taken local port gets the flag that moves it', () => {
    expect(portInUseHint({ local: 8000, remote: 8000 })).toContain('-p 8001:8000');
  });
});
