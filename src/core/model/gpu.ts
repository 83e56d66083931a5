/**
 * The GPU grammar of dstack's `resources.gpu` (`core/models/resources.py`): an int (count), a string of
 * `:`-separated tokens in any order (vendor / names / per-GPU memory / count), or an object.
 * When a GPU spec is given, count defaults to `1..` (so `gpu: A100` matches an 8×A100 host and takes all 8).
 */
import { z } from 'zod';
import { GpuVendor } from './gpu-vendor.js';
import { byType, strictObject } from './strict.js';
import { CountRange, MemoryRange, parseCount, parseMemory, parseRange, parsed, type Range } from './units.js';

export { GpuVendor };

const VENDOR_ALIASES: Record<string, GpuVendor> = {
  nvidia: 'nvidia', amd: 'amd', intel: 'intel', google: 'google', tpu: 'google', tenstorrent: 'tenstorrent', tt: 'tenstorrent',
};

export interface GpuSpec {
  vendor?: GpuVendor;
  /** Alternatives: any of these names matches. */
  name?: string[];
  count: Range;
  /** Per-GPU memory in bytes. */
  memory?: Range;
  total_memory?: Range;
  compute_capability?: string;
}

/** Vendor from names when every name belongs to one vendor (dstack infers it the same way). */
export function inferVendor(names: readonly string[]): GpuVendor | undefined {
  const vendors = new Set(names.map(vendorOfName));
  const [only] = vendors;
  return vendors.size === 1 ? only : undefined;
}

function vendorOfName(name: string): GpuVendor | undefined {
  const n = name.toLowerCase();
  if (/^(tpu-)?v\d+[a-z]*(pod)?(-\d+)?$/.test(n)) return 'google';
  if (/^mi\d+/.test(n)) return 'amd';
  if (/^gaudi/.test(n)) return 'intel';
  if (/^(n150|n300|p100a|p150a|p150b|galaxy)/.test(n)) return 'tenstorrent';
  if (/^(a\d+[a-z]?|h\d+|b\d+|l\d+s?|t4|v100|p100|p4|k80|rtx\w*|gh200|gb200|a10g)$/.test(n)) return 'nvidia';
  return undefined;
}

function withVendor(spec: GpuSpec): GpuSpec {
  if (spec.vendor !== undefined || spec.name === undefined) return spec;
  const vendor = inferVendor(spec.name);
  return vendor === undefined ? spec : { ...spec, vendor };
}

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** `A100:80GB:2`, `24GB..40GB:2`, `H100,A100:1..2`, `nvidia`, `amd:MI300X:8`, `v5litepod-4` … */
export function parseGpuString(s: string): Parsed<GpuSpec> {
  const spec: Partial<GpuSpec> = {};
  for (const raw of s.split(':')) {
    const token = raw.trim();
    const vendor = VENDOR_ALIASES[token.toLowerCase()];
    const field = vendor ? 'vendor' : /^[a-zA-Z]/.test(token) ? 'name' : /[a-zA-Z]/.test(token) ? 'memory' : 'count';
    if (token === '') return { ok: false, message: `invalid GPU spec \`${s}\`: empty token` };
    if (spec[field] !== undefined) return { ok: false, message: `invalid GPU spec \`${s}\`: ${field} is given twice` };
    if (vendor) spec.vendor = vendor;
    else if (field === 'name') spec.name = token.split(',').map((n) => n.trim()).filter((n) => n !== '');
    else {
      const r = parseRange(token, field === 'memory' ? parseMemory : parseCount, field === 'memory' ? 'GPU memory' : 'GPU count');
      if (!r.ok) return { ok: false, message: `invalid GPU spec \`${s}\`: ${r.message}` };
      if (field === 'memory') spec.memory = r.value;
      else spec.count = r.value;
    }
  }
  return { ok: true, value: withVendor({ ...spec, count: spec.count ?? { min: 1 } }) };
}

const VendorField = z
  .string()
  .transform((v, ctx): GpuVendor => {
    const vendor = VENDOR_ALIASES[v.toLowerCase()];
    if (vendor) return vendor;
    ctx.addIssue({ code: 'custom', message: `unknown GPU vendor \`${v}\`; expected nvidia, amd, intel, google (tpu) or tenstorrent (tt)` });
    return z.NEVER;
  });

const GpuObject = strictObject({
  vendor: VendorField.optional().describe('The vendor of the GPU/accelerator: nvidia, amd, intel, google (alias tpu), tenstorrent (alias tt).'),
  name: z.union([z.string().transform((n) => n.split(',').map((x) => x.trim())), z.array(z.string()).min(1)]).optional()
    .describe('The GPU name or a list of names (any of them matches).'),
  count: CountRange.default({ min: 1 }).describe('The number of GPUs, a number or a range. Defaults to `1..`.'),
  memory: MemoryRange.optional().describe('Per-GPU memory (e.g. `16GB`), or a range (`16GB..`, `16GB..80GB`).'),
  total_memory: MemoryRange.optional().describe('Total memory of all GPUs (e.g. `32GB`), or a range.'),
  compute_capability: z.union([z.string(), z.number()]).transform((v) => (typeof v === 'number' ? (Number.isInteger(v) ? v.toFixed(1) : String(v)) : v))
    .pipe(z.string().regex(/^\d+\.\d+$/, 'expected a compute capability like `7.5`')).optional()
    .describe('The minimum compute capability of the GPU (e.g. `7.5`).'),
}).transform((o): GpuSpec => withVendor(Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as unknown as GpuSpec));

export const Gpu = byType({
  number: z.number().int().nonnegative().transform((n): GpuSpec => ({ count: { min: n, max: n } })),
  string: parsed((v) => parseGpuString(String(v))),
  object: GpuObject,
}, 'a GPU count, a spec like `A100:80GB:2`, or an object with `name`, `memory`, `count`');

export const DEFAULT_GPU: GpuSpec = { count: { min: 0 } };
