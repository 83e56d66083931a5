/**
 * Maps a key path to a `line:col` in the YAML source, so each problem names where to look (DESIGN.md §7).
 * Missing keys point at the nearest existing parent.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { ConfigPath } from './problems.js';

export interface Position {
  line: number;
  col: number;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

/** Offset of the node at `path` (or of its key with `atKey`), else of the deepest existing ancestor. */
export function offsetOf(doc: Document, path: ConfigPath, atKey = false): number {
  let node: unknown = doc.contents;
  let best = rangeStart(node) ?? 0;
  for (const [i, seg] of path.entries()) {
    const isLast = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) return best;
      const keyStart = rangeStart(pair.key);
      const valueStart = rangeStart(pair.value);
      if (isLast && atKey) return keyStart ?? best;
      best = valueStart ?? keyStart ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return best;
      best = rangeStart(item) ?? best;
      node = item;
    } else return best;
  }
  return best;
}

export function positionOf(doc: Document, lines: LineCounter, path: ConfigPath, atKey = false): Position {
  const { line, col } = lines.linePos(offsetOf(doc, path, atKey));
  return { line, col };
}
