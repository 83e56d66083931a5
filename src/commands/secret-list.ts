/** `dstack secret list`: the same listing as `dstack secret`, under the name dstack also accepts. */
import Secret from './secret.js';

export default class SecretList extends Secret {
  static override summary = 'List the project\'s secrets (the same as `dstack secret`).';
  static override examples = ['dstack secret list', 'dstack secret list --json'];
}
