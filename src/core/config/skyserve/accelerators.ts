/**
 * SkyPilot `resources.accelerators` → dstack `resources.gpu`. SkyPilot accepts `A100`, `A100:4`,
 * `{A100: 4}`, a set of alternatives `{L4:8, A100:4}` (YAML reads each as a key with a null value) or an
 * ordered list. dstack's GPU spec has one name list and one count range, so alternatives become their union
 * (names, min..max count); the exact list is kept in `skyserve.accelerators`.
 */
import type { ConfigPath, PathProblem } from '../problems.js';

export interface Accelerator {
  name: string;
  count: number;
}

export function parseAccelerators(v: unknown, path: ConfigPath, problems: PathProblem[]): Accelerator[] {
  const one = (s: string, count?: number | null): Accelerator | undefined => {
    const [name = '', c, ...rest] = s.split(':').map((x) => x.trim());
    const n = count ?? (c === undefined ? 1 : Number(c));
    if (name === '' || rest.length > 0 || !Number.isFinite(n) || n <= 0) {
      problems.push({ path, message: `invalid accelerator \`${s}\`; expected \`NAME\` or \`NAME:COUNT\` (e.g. \`A100:4\`)` });
      return undefined;
    }
    return { name, count: n };
  };
  const list = typeof v === 'string' ? [one(v)]
    : Array.isArray(v) ? v.map((s) => one(String(s)))
    : typeof v === 'object' && v !== null ? Object.entries(v).map(([k, c]) => one(k, typeof c === 'number' ? c : null)) : [];
  return list.filter((a): a is Accelerator => a !== undefined);
}

/** `A100-80GB` → name A100 with 80GB; `A10g` → `A10G`; `tpu-v5litepod-4` → `v5litepod-4`. */
export function canonicalGpu(name: string): { name: string; memoryGB?: number } {
  const tpu = /^tpu-(.+)$/i.exec(name);
  if (tpu?.[1]) return { name: tpu[1].toLowerCase() };
  const m = /^(.+?)-(\d+)GB$/i.exec(name);
  return m?.[1] ? { name: m[1].toUpperCase(), memoryGB: Number(m[2]) } : { name: name.toUpperCase() };
}

/** The union of the alternatives, as a raw dstack `gpu` object; `notes` says what was approximated. */
export function acceleratorsToGpu(alternatives: readonly Accelerator[], notes: string[]): Record<string, unknown> | undefined {
  if (alternatives.length === 0) return undefined;
  const canon = alternatives.map((a) => ({ ...canonicalGpu(a.name), count: Math.ceil(a.count) }));
  if (alternatives.some((a) => !Number.isInteger(a.count))) notes.push('fractional accelerator counts are rounded up to whole GPUs');
  const names = [...new Set(canon.map((c) => c.name))];
  const counts = canon.map((c) => c.count);
  const [min, max] = [Math.min(...counts), Math.max(...counts)];
  const memories = new Set(canon.map((c) => c.memoryGB));
  const [memory] = memories;
  if (alternatives.length > 1) {
    notes.push(`accelerator alternatives ${alternatives.map((a) => `${a.name}:${a.count}`).join(', ')} are matched as gpu ${names.join(',')} with count ${min === max ? min : `${min}..${max}`}`);
  }
  return {
    name: names,
    count: min === max ? min : `${min}..${max}`,
    ...(memories.size === 1 && memory !== undefined ? { memory: `${memory}GB` } : {}),
  };
}
