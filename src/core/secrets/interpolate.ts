/**
 * `${{ secrets.NAME }}` in `env` values and `registry_auth`, read the way dstack's `VariablesInterpolator` reads
 * them (`utils/interpolator.py`): `$$` is a literal `$`; `${{ ns.name }}` is a reference whose name has exactly one
 * dot, starts with a letter or `_` on both sides of it, and has only letters, digits and `_` otherwise. Anything
 * but a `secrets.` reference is unknown here (dstack's server knows no other namespace in these fields).
 * Problems carry the reference but never the text around it: a value may itself be a secret.
 */
const OPEN = '${{';
const CLOSE = '}}';
const FIRST = /[A-Za-z_]/;
const CHARS = /^[A-Za-z0-9_.]+$/;

export type Piece = { text: string } | { ref: string };

export type ScanProblem = { kind: 'unclosed' } | { kind: 'illegal'; ref: string };

/** dstack's `validate_name`: `ns.name`, one dot, both parts starting with a letter or `_`. */
export function isReferenceName(name: string): boolean {
  const dot = name.indexOf('.');
  if (dot <= 0 || dot !== name.lastIndexOf('.') || dot === name.length - 1) return false;
  return FIRST.test(name[0]!) && FIRST.test(name[dot + 1]!) && CHARS.test(name);
}

/** Splits a value into literal text and references; `$$` becomes `$`. */
export function scan(s: string): { pieces: Piece[]; problem?: ScanProblem } {
  const pieces: Piece[] = [];
  let start = 0;
  while (start < s.length) {
    const dollar = s.indexOf('$', start);
    if (dollar === -1 || dollar === s.length - 1) {
      pieces.push({ text: s.slice(start) });
      break;
    }
    if (s[dollar + 1] === '$') {
      pieces.push({ text: s.slice(start, dollar + 1) });
      start = dollar + 2;
      continue;
    }
    const open = s.indexOf(OPEN, start);
    if (open === -1) {
      pieces.push({ text: s.slice(start) });
      break;
    }
    pieces.push({ text: s.slice(start, open) });
    const close = s.indexOf(CLOSE, open);
    if (close === -1) return { pieces, problem: { kind: 'unclosed' } };
    const ref = s.slice(open + OPEN.length, close).trim();
    if (!isReferenceName(ref)) return { pieces, problem: { kind: 'illegal', ref } };
    pieces.push({ ref });
    start = close + CLOSE.length;
  }
  return { pieces };
}

/** The secret a reference names, or undefined for another namespace (`env.X`, `run.args`). */
export function secretOf(ref: string): string | undefined {
  return ref.startsWith('secrets.') ? ref.slice('secrets.'.length) : undefined;
}
