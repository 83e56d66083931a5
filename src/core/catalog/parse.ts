/**
 * gpuhunt's v2 catalog CSV (one file per provider) to CatalogItems, and back. RFC 4180: fields with commas, quotes or
 * line breaks are quoted and quotes doubled; `provider_data` is JSON and always has commas. Rows are validated
 * field by field, and every error names its line, so a hand-edited or downloaded catalog fails where it is wrong.
 */
import { UserError } from '../errors.js';
import type { Catalog, CatalogItem } from './types.js';

export const CATALOG_COLUMNS = [
  'instance_name', 'location', 'price', 'cpu', 'memory', 'gpu_count', 'gpu_name', 'gpu_memory', 'spot', 'disk_size',
  'gpu_vendor', 'flags', 'cpu_arch', 'provider_data',
] as const;
type Column = (typeof CATALOG_COLUMNS)[number];

/** Records of an RFC 4180 text, each with the line it starts on (quoted fields may span lines). */
export function* csvRecords(text: string): Generator<{ line: number; fields: string[] }> {
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    // Nearly every record is one line without quotes: split it natively; the loop below is for the others.
    const nl = text.indexOf('\n', i);
    const end = nl < 0 ? n : nl;
    const plain = text.slice(i, end > i && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    if (!plain.includes('"') && !plain.includes('\r')) {
      i = end + 1;
      line++;
      if (plain !== '') yield { line: start, fields: plain.split(',') };
      continue;
    }
    const fields: string[] = [];
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) throw new CsvError(start, 'a quoted field is not closed');
          value += text.slice(i, q);
          line += countNewlines(text, i, q);
          if (text[q + 1] === '"') {
            value += '"';
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') throw new CsvError(line, 'text after a closing quote');
      } else {
        let end = i;
        while (end < n && text[end] !== ',' && text[end] !== '\n' && text[end] !== '\r') end++;
        value = text.slice(i, end);
        if (value.includes('"')) throw new CsvError(line, 'a quote inside an unquoted field');
        i = end;
      }
      fields.push(value);
      if (text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    // A blank line (a trailing newline included) is no record.
    if (!(fields.length === 1 && fields[0] === '')) yield { line: start, fields };
  }
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let k = text.indexOf('\n', from); k >= 0 && k < to; k = text.indexOf('\n', k + 1)) count++;
  return count;
}

class CsvError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ParseOptions {
  date: string;
  source: string;
  /** Only rows this keeps are validated and become items (a one-off query's own filters, offers.ts `rowFilter`). */
  keep?: RowFilter;
}

/** Whether to parse a row, told from its raw (trimmed) fields. */
export type RowFilter = (field: (column: CatalogColumn) => string) => boolean;
export type CatalogColumn = Column;

/** The whole catalog of one provider; throws a UserError `INVALID_CATALOG` naming the source and the line. */
export function parseCatalogCsv(text: string, provider: string, opts: ParseOptions): Catalog {
  const fail = (line: number, message: string): never => {
    throw new UserError('INVALID_CATALOG', `${opts.source}:${line}: ${message}`, {
      hint: 'The catalog must be gpuhunt\'s v2 CSV; `dstack catalog refresh` fetches a fresh one.',
    });
  };
  const items: CatalogItem[] = [];
  let index: Record<Column, number> | undefined;
  try {
    for (const { line, fields } of csvRecords(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)) {
      if (!index) {
        index = headerIndex(fields, (m) => fail(line, m));
        continue;
      }
      if (fields.length !== CATALOG_COLUMNS.length) fail(line, `expected ${CATALOG_COLUMNS.length} fields, found ${fields.length}`);
      const at = index;
      if (opts.keep && !opts.keep((c) => (fields[at[c]] ?? '').trim())) continue;
      items.push(itemOf(provider, fields, index, (m) => fail(line, m)));
    }
  } catch (e) {
    if (e instanceof CsvError) fail(e.line, e.message);
    throw e;
  }
  if (!index) fail(1, `empty catalog: expected the header ${CATALOG_COLUMNS.join(',')}`);
  return { provider, date: opts.date, source: opts.source, items };
}

function headerIndex(fields: string[], fail: (m: string) => never): Record<Column, number> {
  const missing = CATALOG_COLUMNS.filter((c) => !fields.includes(c));
  if (missing.length > 0) fail(`the header lacks ${missing.join(', ')} (expected ${CATALOG_COLUMNS.join(',')})`);
  return Object.fromEntries(CATALOG_COLUMNS.map((c) => [c, fields.indexOf(c)])) as Record<Column, number>;
}

function itemOf(provider: string, fields: string[], index: Record<Column, number>, fail: (m: string) => never): CatalogItem {
  const get = (c: Column): string => (fields[index[c]] ?? '').trim();
  const num = (c: Column, optional = false): number | undefined => {
    const raw = get(c);
    if (raw === '' && optional) return undefined;
    const n = Number(raw);
    if (raw === '' || !Number.isFinite(n) || n < 0) fail(`${c}: expected a non-negative number, found ${JSON.stringify(raw)}`);
    return n;
  };
  const name = get('instance_name');
  const location = get('location');
  if (name === '') fail('instance_name is empty');
  if (location === '') fail('location is empty');
  const spot = get('spot').toLowerCase();
  if (spot !== 'true' && spot !== 'false') fail(`spot: expected True or False, found ${JSON.stringify(get('spot'))}`);
  const gpuCount = num('gpu_count', true) ?? 0;
  if (!Number.isInteger(gpuCount)) fail(`gpu_count: expected a whole number, found ${get('gpu_count')}`);
  const gpuName = get('gpu_name');
  if (gpuCount > 0 && gpuName === '') fail('gpu_name is empty while gpu_count is above 0');
  const gpuMemory = num('gpu_memory', true);
  const disk = num('disk_size', true);
  const vendor = get('gpu_vendor').toLowerCase();
  const data = providerData(get('provider_data'), fail);
  return {
    provider,
    instanceName: name,
    location,
    price: num('price')!,
    cpu: num('cpu')!,
    memoryGiB: num('memory')!,
    gpuCount,
    ...(gpuCount > 0 ? { gpuName } : {}),
    ...(gpuCount > 0 && gpuMemory !== undefined ? { gpuMemoryGiB: gpuMemory } : {}),
    ...(gpuCount > 0 ? { gpuVendor: vendor === '' ? 'nvidia' : vendor } : {}),
    spot: spot === 'true',
    ...(disk !== undefined && disk > 0 ? { diskSizeGiB: disk } : {}),
    flags: get('flags').split(/\s+/).filter((f) => f !== ''),
    cpuArch: get('cpu_arch').toLowerCase() || 'x86',
    ...(data ? { providerData: data } : {}),
  };
}

function providerData(raw: string, fail: (m: string) => never): Record<string, unknown> | undefined {
  if (raw === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return fail(`provider_data: not JSON: ${raw.slice(0, 60)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('provider_data: expected a JSON object');
  return value as Record<string, unknown>;
}

const quote = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
const opt = (v: number | string | undefined): string => (v === undefined ? '' : String(v));

/** A catalog as gpuhunt's v2 CSV (what a refresh writes under DSTACK_HOME/server/catalog). */
export function formatCatalogCsv(items: readonly CatalogItem[]): string {
  const rows = items.map((i) =>
    [
      i.instanceName, i.location, String(i.price), String(i.cpu), String(i.memoryGiB), String(i.gpuCount), opt(i.gpuName),
      opt(i.gpuMemoryGiB), i.spot ? 'True' : 'False', opt(i.diskSizeGiB), opt(i.gpuVendor), i.flags.join(' '), i.cpuArch,
      i.providerData ? JSON.stringify(i.providerData) : '',
    ].map(quote).join(','),
  );
  return `${[CATALOG_COLUMNS.join(','), ...rows].join('\n')}\n`;
}
