// Apply-time checks name every missing secret and where it is used; start-time resolution fills in the values.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/core/errors.js';
import { checkSecretReferences, resolveSecrets } from '../../../src/core/secrets/references.js';

function refusal(fn: () => void): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('expected a UserError');
}

const values = new Map([
  ['hf_token', 'hf_s3cr3t_value'],
  ['ngc_key', 'ngc-s3cr3t'],
]);

describe('checkSecretReferences', () => {
  it('passes when every referenced secret exists, and for values with no reference', () => {
    expect(() => checkSecretReferences([{ env: { A: '${{ secrets.hf_token }}', B: 'plain' }, registryAuth: { username: '$oauthtoken', password: '${{ secrets.ngc_key }}' } }], new Set(values.keys()))).not.toThrow();
  });

  it('a missing secret is SECRET_NOT_FOUND naming it and the key path where it is used', () => {
    const e = refusal(() => checkSecretReferences([{ env: { HF_TOKEN: '${{ secrets.hf }}' } }], new Set()));
    expect([e.code, e.message]).toEqual(['SECRET_NOT_FOUND', 'Secret `hf` is not set (used in `env.HF_TOKEN`)']);
    expect(e.hint).toContain('dstack secret set hf');
  });

  it('names every missing secret once, with all its uses, across replica groups', () => {
    const spec = { env: { A: '${{ secrets.a }}', B: 'x-${{ secrets.a }}' }, registryAuth: { username: 'u', password: '${{ secrets.pw }}' } };
    const e = refusal(() => checkSecretReferences([spec, spec], new Set()));
    expect(e.message).toBe('Secrets are not set: `a` (used in `env.A`, `env.B`), `pw` (used in `registry_auth.password`)');
  });

  it('refuses references that cannot be resolved, naming the key path', () => {
    const e = refusal(() => checkSecretReferences([{ env: { A: '${{ secrets.my-key }}', B: '${{ env.HOME }}', C: '${{ secrets.x' } }], new Set()));
    expect(e.code).toBe('SECRET_REFERENCE_INVALID');
    expect(e.message).toBe('`env.A`: `${{ secrets.my-key }}` is not a valid reference; `env.B`: `${{ env.HOME }}` cannot be resolved here; `env.C`: `${{` is not closed with `}}`');
  });

  it('never quotes a value the caller supplied, even a broken one', () => {
    const e = refusal(() => checkSecretReferences([{ env: { TOKEN: 'abc${{ xyz-123 }}' } }], new Set(), new Set(['env.TOKEN'])));
    expect(e.message).toBe('`env.TOKEN`: an invalid reference');
  });
});

describe('resolveSecrets', () => {
  it('puts the values in env and registry_auth and leaves the given spec (the stored template) as it was', () => {
    const spec = { id: 'r1', env: { HF_TOKEN: '${{ secrets.hf_token }}', URL: 'https://x/?k=${{secrets.ngc_key}}', PLAIN: 'p' }, registryAuth: { username: '$oauthtoken', password: '${{ secrets.ngc_key }}' } };
    const before = structuredClone(spec);
    expect(resolveSecrets(spec, values)).toEqual({
      id: 'r1',
      env: { HF_TOKEN: 'hf_s3cr3t_value', URL: 'https://x/?k=ngc-s3cr3t', PLAIN: 'p' },
      registryAuth: { username: '$oauthtoken', password: 'ngc-s3cr3t' },
    });
    expect(spec).toEqual(before);
  });

  it('turns $$ into $ in every value, as dstack does', () => {
    expect(resolveSecrets({ env: { P: 'pa$$word' } }, values).env).toEqual({ P: 'pa$word' });
  });

  it('a secret deleted since the apply fails the start naming it, without quoting any env value', () => {
    const e = refusal(() => resolveSecrets({ env: { HF_TOKEN: '${{ secrets.gone }}', BROKEN: 'v${{ x' } }, values));
    expect(e.code).toBe('SECRET_REFERENCE_INVALID');
    expect(e.message).toBe('`env.BROKEN`: `${{` is not closed with `}}`');
    const missing = refusal(() => resolveSecrets({ env: { HF_TOKEN: '${{ secrets.gone }}' } }, values));
    expect(missing.message).toBe('Secret `gone` is not set (used in `env.HF_TOKEN`)');
  });

  it('a spec without env or registry_auth stays without them', () => {
    const bare: { id: string; env?: Record<string, string> } = { id: 'x' };
    expect(resolveSecrets(bare, values)).toEqual({ id: 'x' });
  });
});
