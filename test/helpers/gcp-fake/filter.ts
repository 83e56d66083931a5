// The part of Compute's list `filter` syntax the fake understands: comparisons `field = value`, `field != value`
// (also `eq`/`ne`), on dotted paths such as `labels.dstack_project` or `name`, values quoted or bare, optionally
// parenthesized, joined by whitespace or AND. Anything else (OR, `:`, regexes) is refused with GCE's 400, so a
// backend that relies on more fails loudly instead of being answered wrongly.
import { invalid } from './errors.js';

type Term = { path: string[]; negate: boolean; value: string };

const TERM = /^\(?\s*([A-Za-z_][\w.-]*)\s*(=|!=|\beq\b|\bne\b)\s*("(?:[^"\\]|\\.)*"|[^\s()]+)\s*\)?/;

export function parseFilter(filter: string): Term[] {
  const terms: Term[] = [];
  let rest = filter.trim();
  while (rest.length > 0) {
    const m = TERM.exec(rest);
    if (!m) throw invalid('filter', filter, 'The fake supports only `field = value` terms joined by AND.');
    const [whole, field, op, raw] = m as unknown as [string, string, string, string];
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    terms.push({ path: field.split('.'), negate: op === '!=' || op === 'ne', value });
    rest = rest.slice(whole.length).trim().replace(/^AND\s+/, '');
  }
  return terms;
}

export function matchesFilter(resource: Record<string, unknown>, filter: string | undefined): boolean {
  if (!filter) return true;
  return parseFilter(filter).every((t) => {
    let cur: unknown = resource;
    for (const key of t.path) cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[key] : undefined;
    const equal = cur !== undefined && String(cur) === t.value;
    return t.negate ? !equal : equal;
  });
}
