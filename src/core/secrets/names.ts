/**
 * What a secret may be called and hold, as dstack's server validates them (`services/secrets.py`): names of 1 to
 * 200 letters, digits, `-` and `_`; values up to 5000 characters. Errors never quote a value.
 */
import { UserError } from '../errors.js';

export const SECRET_NAME = /^[A-Za-z0-9-_]{1,200}$/;
export const MAX_SECRET_VALUE = 5000;

export function checkSecretName(name: string): void {
  if (SECRET_NAME.test(name)) return;
  throw new UserError('INVALID_SECRET_NAME', `invalid secret name ${JSON.stringify(name)}: expected 1 to 200 letters, digits, \`-\` or \`_\``, {
    hint: 'Names like `hf_token` can be used as `${{ secrets.hf_token }}`; a name with `-` or a leading digit cannot be referenced.',
  });
}

export function checkSecretValue(value: string): void {
  if (value.length <= MAX_SECRET_VALUE) return;
  throw new UserError('SECRET_TOO_LONG', `the secret value is ${value.length} characters long; at most ${MAX_SECRET_VALUE} are allowed`);
}
