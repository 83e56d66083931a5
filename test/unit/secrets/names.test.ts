import { describe, expect, it } from 'vitest';
import { checkSecretName, checkSecretValue, MAX_SECRET_VALUE } from '../../../src/core/secrets/names.js';

describe('secret names and values (dstack: ^[A-Za-z0-9-_]{1,200}$, at most 5000 characters)', () => {
  it.each(['hf_token', 'HF-TOKEN', '1abc', 'a'.repeat(200)])('accepts %s', (name) => expect(() => checkSecretName(name)).not.toThrow());

  it.each(['', 'has space', 'dot.name', 'a'.repeat(201), 'ünïcode', 'a/b'])('refuses %j with INVALID_SECRET_NAME', (name) => {
    expect(() => checkSecretName(name)).toThrow(expect.objectContaining({ code: 'INVALID_SECRET_NAME' }));
  });

  it('refuses a value longer than 5000 characters without quoting it', () => {
    expect(() => checkSecretValue('x'.repeat(MAX_SECRET_VALUE))).not.toThrow();
    const long = 'y'.repeat(MAX_SECRET_VALUE + 1);
    expect(() => checkSecretValue(long)).toThrow(expect.objectContaining({ code: 'SECRET_TOO_LONG', message: expect.not.stringContaining('yyy') }));
  });
});
