import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Average,
  accuracy,
  argmax,
  confusionMatrix,
  f1,
  matthewsCorrcoef,
  pearson,
  perClassScores,
  precision,
  precisionRecallF1,
  rankData,
  recall,
  softmax,
  spearman,
} from '../src/index.js';

const AVERAGES: Average[] = ['macro', 'micro', 'weighted'];

/** Paired class ids from `k` classes, 1..maxLength of them. */
const labelPairs = (k: number, maxLength = 60) =>
  fc
    .array(fc.tuple(fc.integer({ min: 0, max: k - 1 }), fc.integer({ min: 0, max: k - 1 })), {
      minLength: 1,
      maxLength,
    })
    .map((pairs) => ({ references: pairs.map((p) => p[0]), predictions: pairs.map((p) => p[1]) }));

const classCount = fc.integer({ min: 2, max: 6 });
const multiclass = classCount.chain((k) => labelPairs(k).map((input) => ({ ...input, k })));

/** Values on a 1/8 grid: sums are exact, so a mean cannot depend on the order of summation. */
const gridValues = (minLength: number, maxLength = 50) =>
  fc.array(
    fc.integer({ min: -8000, max: 8000 }).map((v) => v / 8),
    { minLength, maxLength },
  );
const xyPairs = fc
  .array(fc.tuple(fc.integer({ min: -8000, max: 8000 }), fc.integer({ min: -8000, max: 8000 })), {
    minLength: 2,
    maxLength: 50,
  })
  .map((pairs) => ({ x: pairs.map((p) => p[0] / 8), y: pairs.map((p) => p[1] / 8) }));

/** A random permutation of 0..n-1 drawn alongside some data of length n. */
const withPermutation = <T extends { length: number }>(data: fc.Arbitrary<T>, length: (t: T) => number) =>
  data.chain((d) => {
    const indices = Array.from({ length: length(d) }, (_, i) => i);
    return fc.tuple(
      fc.constant(d),
      fc.shuffledSubarray(indices, { minLength: indices.length, maxLength: indices.length }),
    );
  });

const permute = <T>(values: ArrayLike<T>, order: number[]): T[] => order.map((i) => values[i]!);
const isConstant = (v: number[]) => v.every((x) => x === v[0]);

describe('classification invariants', () => {
  it('every metric is invariant to reordering the (reference, prediction) pairs', () => {
    fc.assert(
      fc.property(
        withPermutation(
          multiclass.map((m) => ({ ...m, length: m.references.length })),
          (m) => m.length,
        ),
        ([m, order]) => {
          const labels = Array.from({ length: m.k }, (_, i) => i);
          const a = { references: m.references, predictions: m.predictions, labels };
          const b = {
            references: permute(m.references, order),
            predictions: permute(m.predictions, order),
            labels,
          };
          expect(confusionMatrix(b)).toEqual(confusionMatrix(a));
          expect(accuracy(b)).toBe(accuracy(a));
          expect(matthewsCorrcoef(b)).toBe(matthewsCorrcoef(a));
          for (const average of AVERAGES) {
            expect(precisionRecallF1({ ...b, average })).toEqual(precisionRecallF1({ ...a, average }));
          }
        },
      ),
    );
  });

  it('scores stay in [0, 1] and MCC in [-1, 1]', () => {
    fc.assert(
      fc.property(multiclass, (m) => {
        const scores = [
          accuracy(m),
          ...AVERAGES.flatMap((average) => Object.values(precisionRecallF1({ ...m, average }))),
        ];
        for (const s of scores) expect(s >= 0 && s <= 1, `score ${s}`).toBe(true);
        const mcc = matthewsCorrcoef(m);
        expect(mcc >= -1 && mcc <= 1, `mcc ${mcc}`).toBe(true);
      }),
    );
  });

  it('MCC is symmetric in references and predictions', () => {
    fc.assert(
      fc.property(multiclass, (m) => {
        const swapped = { references: m.predictions, predictions: m.references };
        expect(matthewsCorrcoef(swapped)).toBe(matthewsCorrcoef(m));
      }),
    );
  });

  it('binary MCC equals the Pearson correlation of the 0/1 vectors (0 when one side is constant)', () => {
    fc.assert(
      fc.property(labelPairs(2), (m) => {
        const mcc = matthewsCorrcoef({ ...m, labels: [0, 1] });
        if (isConstant(m.references) || isConstant(m.predictions)) expect(mcc).toBe(0);
        else if (m.references.length > 2) expect(mcc).toBeCloseTo(pearson(m.references, m.predictions), 12);
      }),
    );
  });

  it('binary F1 is the harmonic mean of precision and recall, and 2TP / (2TP + FP + FN)', () => {
    fc.assert(
      fc.property(labelPairs(2), (m) => {
        const p = precision(m);
        const r = recall(m);
        const score = f1(m);
        expect(score).toBeCloseTo(p + r === 0 ? 0 : (2 * p * r) / (p + r), 14);
        const [negatives, positives] = confusionMatrix({ ...m, labels: [0, 1] }).matrix;
        const [fp, fn, tp] = [negatives![1]!, positives![0]!, positives![1]!];
        expect(score).toBeCloseTo(tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn), 14);
      }),
    );
  });

  it('per-class F1 is the harmonic mean of per-class precision and recall; macro/weighted average them', () => {
    fc.assert(
      fc.property(multiclass, (m) => {
        const per = perClassScores(m);
        per.f1.forEach((score, i) => {
          const p = per.precision[i]!;
          const r = per.recall[i]!;
          expect(score).toBeCloseTo(p + r === 0 ? 0 : (2 * p * r) / (p + r), 14);
        });
        const n = m.references.length;
        expect(per.support.reduce((a, b) => a + b, 0)).toBe(n);
        const macro = per.f1.reduce((a, b) => a + b, 0) / per.f1.length;
        const weighted = per.f1.reduce((a, s, i) => a + s * per.support[i]!, 0) / n;
        expect(f1({ ...m, average: 'macro' })).toBeCloseTo(macro, 14);
        expect(f1({ ...m, average: 'weighted' })).toBeCloseTo(weighted, 14);
      }),
    );
  });

  it('micro precision, recall and F1 all equal accuracy for single-label multiclass', () => {
    fc.assert(
      fc.property(multiclass, (m) => {
        const acc = m.references.filter((r, i) => r === m.predictions[i]).length / m.references.length;
        expect(accuracy(m)).toBe(acc);
        const micro = precisionRecallF1({ ...m, average: 'micro' });
        expect(micro.precision).toBe(acc);
        expect(micro.recall).toBe(acc);
        expect(micro.f1).toBeCloseTo(acc, 15);
      }),
    );
  });
});

describe('correlation invariants', () => {
  it('Pearson and Spearman are invariant to reordering the pairs', () => {
    fc.assert(
      fc.property(
        withPermutation(
          xyPairs.map((p) => ({ ...p, length: p.x.length })),
          (p) => p.length,
        ),
        ([{ x, y }, order]) => {
          const [px, py] = [permute(x, order), permute(y, order)];
          for (const corr of [pearson, spearman]) {
            const a = corr(x, y);
            const b = corr(px, py);
            if (Number.isNaN(a)) expect(b).toBeNaN();
            else expect(b).toBeCloseTo(a, 12);
          }
        },
      ),
    );
  });

  it('are symmetric, bounded by [-1, 1], and NaN exactly when an input is constant', () => {
    const wide = fc.double({ min: -1e150, max: 1e150, noNaN: true });
    const anyPairs = fc
      .array(fc.tuple(wide, wide), { minLength: 2, maxLength: 40 })
      .map((pairs) => ({ x: pairs.map((p) => p[0]), y: pairs.map((p) => p[1]) }));
    fc.assert(
      fc.property(fc.oneof(anyPairs, xyPairs), ({ x, y }) => {
        for (const corr of [pearson, spearman]) {
          const r = corr(x, y);
          expect(corr(y, x)).toBe(r);
          if (isConstant(x) || isConstant(y)) expect(r).toBeNaN();
          else expect(r >= -1 && r <= 1, `r = ${r}`).toBe(true);
        }
      }),
    );
  });

  it('Spearman only sees the order: a strictly increasing transform of x leaves it unchanged', () => {
    fc.assert(
      fc.property(xyPairs, ({ x, y }) => {
        const r = spearman(x, y);
        const cubed = spearman(
          x.map((v) => v ** 3 + 2 * v),
          y,
        );
        if (Number.isNaN(r)) expect(cubed).toBeNaN();
        else expect(cubed).toBe(r);
      }),
    );
  });

  it('Pearson is invariant to a positive affine map and flips sign under a negative one', () => {
    fc.assert(
      fc.property(
        xyPairs,
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: -100, max: 100 }),
        ({ x, y }, a, b) => {
          const r = pearson(x, y);
          fc.pre(!Number.isNaN(r));
          expect(
            pearson(
              x.map((v) => a * v + b),
              y,
            ),
          ).toBeCloseTo(r, 12);
          expect(
            pearson(
              x.map((v) => -a * v + b),
              y,
            ),
          ).toBeCloseTo(-r, 12);
        },
      ),
    );
  });

  it('average ranks lie in [1, n] and sum to n(n + 1)/2', () => {
    fc.assert(
      fc.property(gridValues(1), (values) => {
        const n = values.length;
        const ranks = Array.from(rankData(values));
        expect(ranks.reduce((a, b) => a + b, 0)).toBe((n * (n + 1)) / 2);
        for (const r of ranks) expect(r >= 1 && r <= n).toBe(true);
        // Equal values share a rank; a larger value never gets a smaller rank.
        values.forEach((v, i) => {
          values.forEach((w, j) => {
            if (v === w) expect(ranks[i]).toBe(ranks[j]);
            if (v < w) expect(ranks[i]!).toBeLessThan(ranks[j]!);
          });
        });
      }),
    );
  });
});

describe('logits invariants', () => {
  // Logits on a 1/8 grid in [-50, 50]: distinct logits stay distinct after exp. (Arbitrary doubles such as
  // 0 and 1e-20 can round to the same probability, which would make argmax(softmax) pick the first of a tie.)
  const logitRows = fc.integer({ min: 1, max: 6 }).chain((k) =>
    fc.array(
      fc.array(
        fc.integer({ min: -400, max: 400 }).map((v) => v / 8),
        { minLength: k, maxLength: k },
      ),
      { minLength: 1, maxLength: 20 },
    ),
  );

  it('argmax(softmax(x)) = argmax(x), for rows and for flat Float32Array input', () => {
    fc.assert(
      fc.property(logitRows, (rows) => {
        expect(argmax(softmax(rows))).toEqual(argmax(rows));
        const flat = { data: Float32Array.from(rows.flat()), shape: [rows.length, rows[0]!.length] };
        const probs = softmax(flat);
        expect(argmax(probs)).toEqual(argmax(rows));
      }),
    );
  });

  it('softmax rows are probabilities summing to 1, unchanged by adding a constant to a row', () => {
    fc.assert(
      fc.property(logitRows, fc.integer({ min: -1000, max: 1000 }), (rows, shift) => {
        const probs = softmax(rows);
        const shifted = softmax(rows.map((row) => row.map((v) => v + shift)));
        probs.forEach((row, r) => {
          expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
          row.forEach((p, c) => {
            expect(p >= 0 && p <= 1).toBe(true);
            expect(shifted[r]![c]).toBeCloseTo(p, 12);
          });
        });
      }),
    );
  });
});
