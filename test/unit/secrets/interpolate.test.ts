// `${{ secrets.NAME }}` read as dstack's VariablesInterpolator reads it (utils/interpolator.py), cases from its tests.
import { describe, expect, it } from 'vitest';
import { isReferenceName, scan } from '../../../src/core/secrets/interpolate.js';

const text = (s: string) => scan(s).pieces.map((p) => ('text' in p ? p.text : `<${p.ref}>`)).join('');

describe('scan', () => {
  it('finds references with or without spaces inside the braces', () => {
    expect(text('Bearer ${{ secrets.hf_token }}')).toBe('Bearer <secrets.hf_token>');
    expect(text('${{secrets.a}}-${{  secrets.b  }}')).toBe('<secrets.a>-<secrets.b>');
  });

  it('reads $$ as a literal $, which also escapes a reference', () => {
    expect(text('pa$$word')).toBe('pa$word');
    expect(text('$${{ secrets.x }}')).toBe('${{ secrets.x }}');
    expect(text('$oauthtoken')).toBe('$oauthtoken');
    expect(text('ends with $')).toBe('ends with $');
  });

  it('leaves $$ alone after a lone $ when no reference follows, exactly as dstack does', () => {
    expect(text('a$b$$c')).toBe('a$b$$c');
  });

  it('reports an unclosed reference and an illegal name without the text around them', () => {
    expect(scan('abc ${{ secrets.x').problem).toEqual({ kind: 'unclosed' });
    expect(scan('x ${{ secrets.my-key }} y').problem).toEqual({ kind: 'illegal', ref: 'secrets.my-key' });
    expect(scan('${{ hf_token }}').problem).toEqual({ kind: 'illegal', ref: 'hf_token' });
  });
});

describe('isReferenceName', () => {
  it.each([
    ['secrets.hf_token', true],
    ['secrets._x1', true],
    ['env.X', true],
    ['secrets.1abc', false],
    ['secrets.a.b', false],
    ['secrets.', false],
    ['.x', false],
    ['secrets.my-key', false],
  ])('%s → %s', (name, ok) => expect(isReferenceName(name)).toBe(ok));
});
