import { describe, expect, it } from 'vitest';
import { checkGroupRefs, fillGroupRefs, groupIpRefs, hasGroupRefs } from '../../../src/core/runs/group-refs.js';

describe('${{ groups[i].replicas[j].IP_ADDRESS }}', () => {
  it('finds references with any spacing, skips $${{ }} escapes and other namespaces, and refuses other groups refs', () => {
    expect(groupIpRefs('a ${{groups[0].replicas[1].IP_ADDRESS}} b ${{ groups[2].replicas[0].IP_ADDRESS }}')).toEqual([
      { group: 0, replica: 1, name: 'groups[0].replicas[1].IP_ADDRESS' },
      { group: 2, replica: 0, name: 'groups[2].replicas[0].IP_ADDRESS' },
    ]);
    expect(groupIpRefs('$${{ groups[0].replicas[0].IP_ADDRESS }} ${{ secrets.X }} ${{ env.Y }}')).toEqual([]);
    expect(() => groupIpRefs('${{ groups[0].nodes[0].IP_ADDRESS }}')).toThrow('Illegal reference name: groups[0].nodes[0].IP_ADDRESS');
    expect(() => groupIpRefs('${{ groups[0].replicas[0].ip }}')).toThrow('Illegal reference name');
    expect(hasGroupRefs(['x', 'y ${{ groups[0].replicas[0].IP_ADDRESS }}'])).toBe(true);
    expect(hasGroupRefs(['x'])).toBe(false);
  });

  it('checks indices against the groups and their maximum replicas', () => {
    const ok = ['--peer ${{ groups[1].replicas[2].IP_ADDRESS }}'];
    expect(() => checkGroupRefs([[], ok], [1, 3])).not.toThrow();
    expect(() => checkGroupRefs([ok], [1, 2])).toThrow('group 1 has at most 2 replicas');
    expect(() => checkGroupRefs([ok], [1])).toThrow('the service has 1 group');
  });

  it('fills every reference, or names the first one without an address', () => {
    const commands = ['serve --a ${{ groups[0].replicas[0].IP_ADDRESS }} --b ${{ groups[0].replicas[1].IP_ADDRESS }}', 'echo $${{ kept }}'];
    const known = new Map([['groups[0].replicas[0].IP_ADDRESS', '172.17.0.2'], ['groups[0].replicas[1].IP_ADDRESS', '172.17.0.3']]);
    expect(fillGroupRefs(commands, (r) => known.get(r.name))).toEqual({ commands: ['serve --a 172.17.0.2 --b 172.17.0.3', 'echo $${{ kept }}'] });
    known.delete('groups[0].replicas[1].IP_ADDRESS');
    expect(fillGroupRefs(commands, (r) => known.get(r.name))).toEqual({ waiting: { group: 0, replica: 1, name: 'groups[0].replicas[1].IP_ADDRESS' } });
  });
});
