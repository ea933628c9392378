import type { Dim } from './types.js';

/** Broadcasts shapes numpy-style; a dim is kept only when it is certain. */
export function broadcastShapes(shapes: Dim[][]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    // Only a missing leading axis counts as 1. An unknown (null) dim broadcasting with a known one other than 1
    // must be 1 or equal to it in a valid graph, so the known one wins; alone, or beside 1, it stays unknown.
    const dims = shapes.map((s): Dim => (s.length - rank + i < 0 ? 1 : s[s.length - rank + i]!));
    const known = [...new Set(dims.filter((d) => d !== 1 && d !== null))];
    out.push(
      known.length === 1
        ? known[0]!
        : known.length > 1
          ? (known.find((d) => typeof d === 'number') ?? null)
          : dims.includes(null)
            ? null
            : 1,
    );
  }
  return out;
}

/** A possibly negative axis as an index into a shape of rank `rank`. */
export const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
