import { mulberry32 } from '@ortrain/data';

/**
 * A seeded standard-normal generator (mulberry32 + Box-Muller), so that newly initialized weights are
 * reproducible from `seed`. It cannot reproduce torch's generator; parity tests feed torch's head weights.
 */
export function normalGenerator(seed: number): () => number {
  const next = mulberry32(seed);
  const uniform = (): number => next() / 4294967296;
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = 1 - uniform(); // (0, 1], keeps log finite
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}
