/**
 * `dstack offer` without oclif, for src/main.ts: a catalog-only query (`--backend aws`, core/catalog/direct.ts) is
 * answered before the command registry and oclif load, which cost several hundred ms of a ~50 ms budget (issue 13).
 * Only plainly written command lines are taken: anything this parser is unsure of (--help, -v, an unknown or
 * repeated flag, a bad value) and any error returns false, and the oclif command (offer.ts) runs from scratch,
 * answering or failing exactly as it always does. Both print through `offersOutput`, so their output is the same.
 */
import type { OffersResponse } from '../core/api.js';
import { directOffers } from '../core/catalog/direct.js';
import { plainLocalProject } from '../core/client/plain-local.js';
import type { OfferQueryInput, SpotPolicy } from '../core/catalog/offer-query.js';
import { colorEnabled, createPainter, type Painter } from '../ui/colors.js';
import { renderOffersTable } from '../ui/offers-table.js';

export const TABLE_MAX_OFFERS = 50;

/** `--max-price`: dollars per hour, a positive number; undefined for anything else. */
export function parseMaxPrice(input: string): number | undefined {
  const n = Number(input);
  return input.trim() !== '' && Number.isFinite(n) && n > 0 ? n : undefined;
}

export interface OffersOutput {
  /** Lines for stderr (a cloud named but not configured, with its catalog's date). */
  notes: string[];
  /** One document for stdout with --json; otherwise `text`. */
  json?: { offers: OffersResponse['offers']; total: number; catalogs: OffersResponse['catalogs'] };
  text?: string;
}

export function offersOutput(answer: OffersResponse, o: { json: boolean; max?: number | undefined; painter: Painter; width?: number | undefined }): OffersOutput {
  const total = answer.total ?? answer.offers.length;
  if (o.json) return { notes: answer.notes, json: { offers: answer.offers, total, catalogs: answer.catalogs } };
  if (answer.offers.length === 0) return { notes: answer.notes, text: 'No matching offers.' };
  const text = renderOffersTable(answer.offers, {
    max: o.max ?? TABLE_MAX_OFFERS,
    total,
    ...(answer.maxPrice !== undefined ? { maxPrice: answer.maxPrice } : {}),
    catalogs: answer.catalogs,
    painter: o.painter,
    ...(o.width !== undefined ? { width: o.width } : {}),
  });
  return { notes: answer.notes, text };
}

const VALUE_FLAGS = ['gpu', 'cpu', 'memory', 'disk', 'backend', 'region', 'instance-type', 'max-price', 'max-offers'] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];
const MULTIPLE = new Set<ValueFlag>(['backend', 'region', 'instance-type']);
const SHORT: Record<string, ValueFlag> = { '-b': 'backend', '-r': 'region' };
const SPOT: Record<string, SpotPolicy> = { spot: 'spot', 'on-demand': 'on-demand', 'spot-auto': 'auto' };

export interface DirectOfferArgs {
  input: OfferQueryInput;
  json: boolean;
  max?: number;
}

/** The flags of a plainly written `dstack offer` command line (after `offer`), or undefined to leave it to oclif. */
export function parseDirectOfferArgv(argv: readonly string[]): DirectOfferArgs | undefined {
  const values = new Map<ValueFlag, string[]>();
  const booleans = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = SHORT[arg] ?? (arg.startsWith('--') ? arg.slice(2, eq < 0 ? undefined : eq) : undefined);
    if (name === undefined) return undefined;
    if (name === 'json' || name in SPOT) {
      if (eq >= 0 || booleans.has(name)) return undefined;
      booleans.add(name);
      continue;
    }
    if (!(VALUE_FLAGS as readonly string[]).includes(name)) return undefined;
    const flag = name as ValueFlag;
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    if (values.has(flag) && !MULTIPLE.has(flag)) return undefined;
    values.set(flag, [...(values.get(flag) ?? []), value]);
  }
  const spot = [...booleans].filter((b) => b in SPOT);
  if (spot.length > 1) return undefined;
  const one = (flag: ValueFlag) => values.get(flag)?.[0];
  const maxPriceText = one('max-price');
  const maxPrice = maxPriceText === undefined ? undefined : parseMaxPrice(maxPriceText);
  if (maxPriceText !== undefined && maxPrice === undefined) return undefined;
  const maxText = one('max-offers');
  if (maxText !== undefined && !(/^\d+$/.test(maxText) && Number.parseInt(maxText, 10) >= 1)) return undefined;
  const input: OfferQueryInput = {
    ...(one('gpu') !== undefined ? { gpu: one('gpu') } : {}),
    ...(one('cpu') !== undefined ? { cpu: one('cpu') } : {}),
    ...(one('memory') !== undefined ? { memory: one('memory') } : {}),
    ...(one('disk') !== undefined ? { disk: one('disk') } : {}),
    ...(values.has('backend') ? { backends: values.get('backend') } : {}),
    ...(values.has('region') ? { regions: values.get('region') } : {}),
    ...(values.has('instance-type') ? { instanceTypes: values.get('instance-type') } : {}),
    ...(spot[0] ? { spotPolicy: SPOT[spot[0]] } : {}),
    ...(maxPrice !== undefined ? { maxPrice } : {}),
    ...(maxText !== undefined ? { maxOffers: Number.parseInt(maxText, 10) } : {}),
  };
  return { input, json: booleans.has('json'), ...(maxText !== undefined ? { max: Number.parseInt(maxText, 10) } : {}) };
}

export interface DirectIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

/** Prints the answer and returns true when catalogs alone answer this command line; otherwise prints nothing. */
export async function offerWithoutDaemon(argv: readonly string[], io: DirectIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<boolean> {
  const args = parseDirectOfferArgv(argv);
  // The local catalogs answer for the local default project only; a remote one's server answers (offer.ts).
  if (!args || !plainLocalProject(io.env)) return false;
  let answer: OffersResponse | undefined;
  try {
    answer = await directOffers(args.input, io.env);
  } catch {
    // The oclif command meets the same error and reports it as every command does (banner, JSON, exit code).
    return false;
  }
  if (!answer) return false;
  const painter = createPainter(colorEnabled({ env: io.env, isTTY: Boolean(io.stdout.isTTY) }));
  const out = offersOutput(answer, { json: args.json, max: args.max, painter, width: io.stdout.columns });
  for (const note of out.notes) io.stderr.write(`${note}\n`);
  io.stdout.write(out.json ? `${JSON.stringify(out.json, null, 2)}\n` : `${out.text ?? ''}\n`);
  return true;
}
