/**
 * Secret references in a replica spec (`env` values and `registry_auth`), each named by the key path the user
 * wrote (`env.HF_TOKEN`, `registry_auth.password`). Apply checks them against the project's secret names, so a
 * missing secret fails the apply naming it; a replica's start resolves them against the values, as dstack's
 * server does just before it submits a job (`interpolate_job_spec_secrets`). The stored run keeps the references,
 * so a changed value reaches the replicas that start after the change (scale-up, replacement, `apply --force`), and
 * re-applying the same configuration is no change: nothing in the run changed, as in dstack.
 */
import { UserError } from '../errors.js';
import { scan, secretOf, type Piece } from './interpolate.js';

/** The parts of a replica spec (template) that may hold references. */
export interface SecretFields {
  env?: Record<string, string> | undefined;
  registryAuth?: { username: string; password: string } | undefined;
}

type Field = { path: string; value: string };

function fieldsOf(spec: SecretFields): Field[] {
  const env = Object.entries(spec.env ?? {}).map(([k, value]) => ({ path: `env.${k}`, value }));
  const auth = spec.registryAuth;
  return auth ? [...env, { path: 'registry_auth.username', value: auth.username }, { path: 'registry_auth.password', value: auth.password }] : env;
}

const code = (s: string) => `\`${s}\``;
const listed = (paths: string[]) => paths.map(code).join(', ');

/** Every reference problem of the fields, in one UserError (undefined: none). `hidden` paths are never quoted. */
function problemsOf(fields: Field[], known: (name: string) => boolean, hidden: ReadonlySet<string>): UserError | undefined {
  const missing = new Map<string, string[]>();
  const invalid: string[] = [];
  for (const { path, value } of fields) {
    const { pieces, problem } = scan(value);
    if (problem?.kind === 'unclosed') invalid.push(`${code(path)}: \`\${{\` is not closed with \`}}\``);
    else if (problem) invalid.push(`${code(path)}: ${hidden.has(path) ? 'an invalid reference' : `\`\${{ ${problem.ref} }}\` is not a valid reference`}`);
    for (const piece of pieces) {
      if (!('ref' in piece)) continue;
      const name = secretOf(piece.ref);
      if (name === undefined) invalid.push(`${code(path)}: ${hidden.has(path) ? 'a reference' : `\`\${{ ${piece.ref} }}\``} cannot be resolved here`);
      else if (!known(name)) missing.set(name, [...(missing.get(name) ?? []), path]);
    }
  }
  if (invalid.length > 0) {
    return new UserError('SECRET_REFERENCE_INVALID', [...new Set(invalid)].join('; '), {
      hint: 'Only `${{ secrets.NAME }}` (NAME: letters, digits and `_`) is resolved in `env` and `registry_auth`; write `$$` for a literal `$`.',
    });
  }
  if (missing.size === 0) return undefined;
  const names = [...missing.keys()];
  const uses = [...missing].map(([name, paths]) => ({ name: code(name), where: `(used in ${listed([...new Set(paths)])})` }));
  const [one] = uses;
  const message = uses.length === 1 && one ? `Secret ${one.name} is not set ${one.where}` : `Secrets are not set: ${uses.map((u) => `${u.name} ${u.where}`).join(', ')}`;
  return new UserError('SECRET_NOT_FOUND', message, {
    hint: `Set ${names.length === 1 ? 'it' : 'each'} with \`dstack secret set ${names.length === 1 ? names[0] : 'NAME'}\`; \`dstack secret list\` shows the project's secrets.`,
  });
}

/** Apply time: throws SECRET_NOT_FOUND / SECRET_REFERENCE_INVALID naming every problem and where it is used. */
export function checkSecretReferences(specs: readonly SecretFields[], names: ReadonlySet<string>, hidden: ReadonlySet<string> = new Set()): void {
  const seen = new Set<string>();
  // Replica groups share `env`: one problem is named once, not once per group.
  const fields = specs.flatMap(fieldsOf).filter((f) => !seen.has(`${f.path}\0${f.value}`) && seen.add(`${f.path}\0${f.value}`));
  const error = problemsOf(fields, (n) => names.has(n), hidden);
  if (error) throw error;
}

const join = (pieces: Piece[], values: ReadonlyMap<string, string>) =>
  pieces.map((p) => ('text' in p ? p.text : values.get(secretOf(p.ref) ?? '') ?? '')).join('');

/** Start time: a copy of `spec` with every reference replaced by its value (`$$` → `$`); throws like the check. */
export function resolveSecrets<T extends SecretFields>(spec: T, values: ReadonlyMap<string, string>): T {
  // Every value goes through it, as in dstack, so `$$` means `$` whether or not the value holds a reference.
  const error = problemsOf(fieldsOf(spec), (n) => values.has(n), new Set(Object.keys(spec.env ?? {}).map((k) => `env.${k}`)));
  if (error) throw error;
  const resolve = (v: string) => join(scan(v).pieces, values);
  const env = spec.env && Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, resolve(v)]));
  const auth = spec.registryAuth;
  return { ...spec, ...(env ? { env } : {}), ...(auth ? { registryAuth: { username: resolve(auth.username), password: resolve(auth.password) } } : {}) };
}
