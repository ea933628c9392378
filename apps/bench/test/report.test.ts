import { describe, expect, it } from 'vitest';
import { BERT_BASE, BERT_TINY, forwardFlops, parameterCount, trainingFlops } from '../src/geometry.js';

const forwardFlopsOfBase = () => forwardFlops(BERT_BASE, 8, 128);

import { renderMarkdown, timeCell } from '../src/markdown.js';
import { pairedFigures } from '../src/paired.js';
import { evaluateTargets, formatMiB, formatMs, matmulFloor, type Results } from '../src/results.js';
import { type Summary, throughput } from '../src/stats.js';

const s = (median: number, min = median * 0.9, max = median * 1.1): Summary => ({ median, min, max, n: 5 });

function results(overrides: Partial<Results> = {}): Results {
  const trainMs = s(2000);
  return {
    format: 'ortrain-bench',
    version: 1,
    date: '2026-01-01T00:00:00.000Z',
    commit: 'abc1234',
    durationS: 600,
    config: {
      quick: false,
      warmup: 1,
      repeats: 5,
      batch: 8,
      seq: 128,
      torchThreads: 2,
      stepsPerRun: 8,
      mrpcSample: 16,
      pairs: 8,
      epochs: 3,
    },
    machine: {
      cpu: 'AMD EPYC',
      cores: 2,
      memoryGiB: 23.5,
      os: 'Linux',
      node: 'v20.20.2',
      onnxruntime: '1.30.0',
    },
    torch: {
      available: true,
      python: '/usr/bin/python3',
      version: '1.13.0',
      blas: 'openblas',
      blasCore: 'SkylakeX',
    },
    geometries: [
      {
        geometry: BERT_BASE,
        parameters: parameterCount(BERT_BASE),
        compile: {
          dir: '/tmp/a',
          checkpointMs: 2000,
          compileMs: 7000,
          artifactBytes: 2 ** 30,
          peakRssMiB: 3000,
        },
        train: {
          openMs: 3000,
          firstStepMs: 5000,
          timeToFirstStepMs: 8500,
          shapes: [
            { batch: 8, seq: 128, stepMs: trainMs, samplesPerSec: throughput(trainMs, 8), loss: 0.69 },
          ],
          peakRssMiB: 3500,
        },
        trainMultiStep: {
          openMs: 3000,
          firstStepMs: 20_000,
          timeToFirstStepMs: 23_500,
          shapes: [
            { batch: 8, seq: 128, stepMs: s(1800), samplesPerSec: throughput(s(1800), 8), loss: 0.68 },
          ],
          peakRssMiB: 6000,
        },
        eval: {
          stepMs: s(600),
          samplesPerSec: throughput(s(600), 8),
          initialLoss: 0.693152,
          peakRssMiB: 1000,
        },
        forward: { exportMs: 1000, stepMs: s(500), samplesPerSec: throughput(s(500), 8), peakRssMiB: 900 },
        torch: {
          stepMs: s(6300),
          samplesPerSec: 1.27,
          meanStepMs: 6300,
          initialLoss: 0.693146,
          lastLoss: 0.6,
        },
      },
      { geometry: BERT_TINY, parameters: parameterCount(BERT_TINY) },
    ],
    mrpc: {
      geometry: BERT_BASE,
      figures: {
        trainRows: 3668,
        stepsPerEpoch: 459,
        epochLengths: { mean: 71.7, min: 50, max: 103 },
        sampleLengths: { mean: 70, min: 52, max: 99 },
        stepMs: s(1000),
        meanStepMs: 1000,
        samplesPerSec: 8,
        devRows: 408,
        devEvalMs: 20_000,
        devSamplesPerSec: 20.4,
        projectedMinutes: 24,
        peakRssMiB: 3800,
      },
      torch: { stepMs: s(1800), samplesPerSec: 4.4, meanStepMs: 1800, initialLoss: 0.69, lastLoss: 0.6 },
    },
    gemm: [
      { m: 1024, k: 768, n: 768, figures: { ms: s(8), gflops: s(151) } },
      { m: 1024, k: 768, n: 3072, figures: { ms: s(30), gflops: s(161) } },
    ],
    load: { mean: 2.1, max: 3.5, samples: 100 },
    skipped: [],
    errors: [],
    ...overrides,
  };
}

describe('evaluateTargets', () => {
  it('checks each of the issue’s targets against its goal', () => {
    const t = evaluateTargets(results());
    // 504 GFLOP of products at the best fed MatMul's 161 GFLOP/s: 3.13 s.
    expect(matmulFloor(results())!.ms).toBeCloseTo((3 * forwardFlopsOfBase()) / 161 / 1e6, 6);
    expect(t.map((x) => [x.value, x.pass])).toEqual([
      ['3.15x', true], // PyTorch 6.3 s / 2.0 s >= 1.5
      ['1.80x', true], // MRPC mean steps 1.8 s / 1.0 s >= 1.5
      ['0.64x', true], // 2.0 s / 3.13 s <= 1.5
      ['3.42 GiB (3.670 GB)', true], // 3500 MiB = 3.67e9 bytes < 4e9
      ['24.0 min', true], // < 40
    ]);
  });

  it('fails a target that is missed and leaves unmeasured ones open', () => {
    const r = results({ torch: { available: false, reason: '/usr/bin/python3 does not exist' } });
    const base = r.geometries[0]!;
    base.train!.shapes[0]!.stepMs = s(2500);
    base.train!.peakRssMiB = 3900; // 4.09e9 bytes: over 4 GB though under 4 GiB
    r.gemm = [{ m: 1024, k: 768, n: 3072, figures: { ms: s(12), gflops: s(400) } }]; // floor 1.26 s: 1.98x
    delete base.torch;
    delete r.mrpc;
    expect(evaluateTargets(r).map((x) => x.pass)).toEqual([null, null, false, false, null]);
  });
});

describe('the interleaved comparison', () => {
  const reply = (ms: number) => ({ ms, rows: 8, loss: 0.5 });
  const paired = (pairs: [number, number][]) =>
    pairedFigures(
      pairs.map(([ours, theirs], batch) => ({ batch, ours: reply(ours), theirs: reply(theirs) })),
    );

  it("is what the speed-up targets read when measured, in place of the separate runs' ratio", () => {
    const r = results();
    r.paired = {
      geometry: BERT_BASE,
      fixed: paired([
        [2000, 2800],
        [2100, 3000],
        [1900, 2900],
      ]),
      mrpc: paired([
        [1000, 1300],
        [3000, 3900],
      ]),
    };
    const [fixed, mrpc] = evaluateTargets(r);
    expect(fixed).toMatchObject({
      name: 'speed-up over PyTorch, BERT-base step, batch 8 x 128 (interleaved steps, median pair)',
      value: '1.43x', // pairs 1.40, 1.43, 1.53
      pass: false,
    });
    expect(mrpc).toMatchObject({ value: '1.30x', pass: false }); // 5.2 s / 4.0 s
    expect(mrpc!.name).toContain('interleaved steps');
    const md = renderMarkdown(r);
    expect(md).toContain('## Side by side with PyTorch (interleaved steps)');
    expect(md).toContain(
      '| 8 x 128 | 3 | 2.00 s (1.90 s–2.10 s) | 2.90 s (2.80 s–3.00 s) | 1.43x (1.40–1.53) | 1.45x |',
    );
    expect(md).toContain('| MRPC sample | 2 |');
    expect(md).toContain('The speed-up targets read these figures.');
    // A smaller model's pairs (bench --quick) are shown but are not the targets' BERT-base figures.
    r.paired.geometry = BERT_TINY;
    expect(evaluateTargets(r)[0]!.value).toBe('3.15x');
    expect(renderMarkdown(r)).not.toContain('The speed-up targets read these figures.');
  });

  it('says when it was not measured', () => {
    expect(renderMarkdown(results())).toContain(
      '## Side by side with PyTorch (interleaved steps)\n\nNot measured.',
    );
  });
});

describe('renderMarkdown', () => {
  it('shows the machine, the targets, the ratios and the same-model check', () => {
    const r = results();
    const base = r.geometries[0]!;
    base.trainBinding = {
      ...base.train!,
      shapes: [{ ...base.train!.shapes[0]!, stepMs: s(2500) }],
      peakRssMiB: 4400,
    };
    const md = renderMarkdown(r, '## Optimizations\n\nnotes here');
    expect(md).toContain(
      `uses these only where that does not load: BERT-base 12x768 step ${timeCell(s(2500))}, 25% slower, peak RSS 4.30 GiB (C API: 3.42 GiB).`,
    );
    expect(md).toContain('| AMD EPYC | 2 | 23.5 GiB |');
    expect(md).toContain('Machine load (1-minute load average, sampled every 5 s): mean 2.10, max 3.50;');
    expect(md).toContain(
      '| BERT-base step / its fp32 MatMul floor, batch 8 x 128 | <= 1.5x | 0.64x | pass |',
    );
    expect(md).toContain(
      `| BERT-base 12x768 | 109.5 M | ${timeCell(s(2000))} | 4.00 (3.64–4.44) | ${(trainingFlops(BERT_BASE, 8, 128) / 2e9).toFixed(0)} | ${timeCell(s(6300))} | 1.27 | 3.15x | ${timeCell(s(500))} | 4.00x | 3.42 GiB |`,
    );
    expect(md).toContain('steps_per_run` 8 (8 optimizer steps per session run');
    // A geometry that was not measured shows dashes, not zeros.
    expect(md).toContain('| 2x128 | 4.4 M | — | — | — | — | — | — | — | — | — |');
    expect(md).toContain('ortrain 0.693152, PyTorch 0.693146');
    expect(md).toContain('**24.0 min**');
    // 504 GFLOP at the best MatMul's 161 GFLOP/s: the compute floor of a step.
    expect(md).toMatch(
      /computes 504 GFLOP of matrix products \(forward 168, backward twice that; the last layer after attention on \[CLS\] alone\), so even at the best of these speeds the products alone take 3\.13 s/,
    );
    expect(md).toContain(
      "With the trainer's `steps_per_run` 8 (8 optimizer steps per session run, an ONNX Loop carrying parameters and moments, so they cross between Node and ONNX Runtime once per 8 steps): BERT-base 12x768 step 1.80 s (1.62 s–1.98 s), 10% faster, peak RSS 5.86 GiB (single steps: 3.42 GiB).",
    );
    expect(md.trimEnd().endsWith('notes here')).toBe(true);
  });

  it('says that the PyTorch comparison was skipped and why', () => {
    const r = results({ torch: { available: false, reason: '/usr/bin/python3 does not exist' } });
    delete r.geometries[0]!.torch;
    const md = renderMarkdown(r);
    expect(md).toContain('PyTorch comparison skipped: /usr/bin/python3 does not exist.');
    expect(md).toContain(
      '| speed-up over PyTorch, BERT-base step, batch 8 x 128 | >= 1.5x | not measured | not measured |',
    );
    expect(md).not.toContain('Same model check');
  });

  it('lists errors and skipped benchmarks', () => {
    const md = renderMarkdown(
      results({ errors: [{ benchmark: 'scaling', message: 'killed\nstack' }], skipped: ['MRPC: no data'] }),
    );
    expect(md).toContain('## Errors\n- scaling: killed');
    expect(md).toContain('## Skipped\n- MRPC: no data');
  });
});

describe('formatting', () => {
  it('picks units and precision by magnitude', () => {
    expect([formatMs(5.678), formatMs(56.78), formatMs(567.8), formatMs(5678), formatMs(156_780)]).toEqual([
      '5.68 ms',
      '56.8 ms',
      '568 ms',
      '5.68 s',
      '157 s',
    ]);
    expect([formatMiB(512), formatMiB(3584)]).toEqual(['512 MiB', '3.50 GiB']);
  });
});
