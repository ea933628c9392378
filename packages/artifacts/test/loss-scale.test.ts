import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CompileOptions, compileArtifacts } from '../src/compile.js';
import { ArtifactRunner, type Batch } from './runner.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const ref = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as {
  train_batches: (Batch & { labels: number[] })[];
};
const batch = (i: number) => ref.train_batches[i % ref.train_batches.length]!;

function runner(options: Partial<CompileOptions> = {}) {
  const { dir, manifest } = compileArtifacts(join(fixtures, 'bert_fe_opset14_folded.onnx'), {
    name: 'scaled',
    outDir: mkdtempSync(join(tmpdir(), 'ortrain-loss-scale-')),
    mixedPrecision: 'fp16',
    optimizer: { weightDecay: 0.01 },
    ...options,
  });
  return { r: new ArtifactRunner(dir), manifest };
}

/** Copies of every parameter and optimizer moment, to compare bit for bit. */
function snapshot(r: ArtifactRunner, names: string[]): Map<string, Float32Array> {
  return new Map(names.map((n) => [n, (r.params.get(n) ?? r.value(n)).slice()] as [string, Float32Array]));
}

const foundInf = (r: ArtifactRunner) => (r.last['found_inf']!.data as Float32Array)[0];

describe('dynamic loss scaling (GradScaler semantics)', () => {
  it('declares the scale and its growth tracker as state, starting at 2^16 and 0', () => {
    const { manifest } = runner();
    const scale = manifest.state.find((e) => e.role === 'loss-scale')!;
    const tracker = manifest.state.find((e) => e.role === 'growth-tracker')!;
    expect(scale).toMatchObject({ name: 'loss_scale', shape: [], initial: 2 ** 16 });
    expect(scale.readBy).toEqual(['train', 'gradient', 'optimizer']);
    expect(scale.writtenBy).toEqual(['train', 'optimizer']);
    expect(tracker).toMatchObject({
      name: 'loss_scale.growth_tracker',
      shape: [],
      writtenBy: ['train', 'optimizer'],
    });
    expect(tracker.initial).toBeUndefined();
    expect(manifest.mixedPrecision).toEqual({
      dtype: 'float16',
      lossScaling: { initScale: 65536, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000 },
    });
  });

  it('an overflowing step is skipped: weights and moments unchanged, scale halved, tracker reset', async () => {
    const { r, manifest } = runner();
    const trainable = manifest.parameters.filter((p) => p.trainable).map((p) => p.name);
    const names = [...trainable, ...trainable.flatMap((p) => [`${p}.exp_avg`, `${p}.exp_avg_sq`])];
    // One clean step first, so the moments are not zeros and the tracker counts.
    await r.trainStep(batch(0), batch(0).labels, 1e-3, 1);
    expect(foundInf(r)).toBe(0);
    expect(r.value('loss_scale.growth_tracker')[0]).toBe(1);
    const before = snapshot(r, names);
    r.value('loss_scale')[0] = 2 ** 40; // the scaled backward overflows float16 (max 65504)
    const [loss, norm] = await r.trainStep(batch(1), batch(1).labels, 1e-3, 2);
    expect(foundInf(r)).toBe(1);
    expect(Number.isFinite(loss)).toBe(true);
    expect(Number.isFinite(norm)).toBe(false);
    for (const [name, values] of snapshot(r, names)) expect([name, values]).toEqual([name, before.get(name)]);
    expect(r.value('loss_scale')[0]).toBe(2 ** 39);
    expect(r.value('loss_scale.growth_tracker')[0]).toBe(0);
    // The next clean step updates again.
    r.value('loss_scale')[0] = 2 ** 10;
    await r.trainStep(batch(2), batch(2).labels, 1e-3, 2);
    expect(foundInf(r)).toBe(0);
    expect(r.params.get(trainable[0]!)).not.toEqual(before.get(trainable[0]!));
  });

  it('grows the scale x2 after growthInterval clean steps and resets the tracker', async () => {
    const { r } = runner({ lossScaling: { growthInterval: 3 } });
    const seen: [number, number][] = [];
    for (let step = 1; step <= 5; step++) {
      await r.trainStep(batch(step), batch(step).labels, 1e-4, step);
      seen.push([r.value('loss_scale')[0]!, r.value('loss_scale.growth_tracker')[0]!]);
    }
    expect(seen).toEqual([
      [2 ** 16, 1],
      [2 ** 16, 2],
      [2 ** 17, 0],
      [2 ** 17, 1],
      [2 ** 17, 2],
    ]);
  });

  it('with gradient accumulation the optimizer graph unscales, skips and backs off the same way', async () => {
    const { r, manifest } = runner({ lossScaling: { initScale: 2 ** 40, growthInterval: 1 } });
    const trainable = manifest.parameters.filter((p) => p.trainable).map((p) => p.name);
    const before = snapshot(r, trainable);
    await r.accumulate(batch(0), batch(0).labels, 0.5);
    await r.accumulate(batch(1), batch(1).labels, 0.5);
    await r.optimizerStep(1e-3, 1);
    expect(foundInf(r)).toBe(1);
    for (const [name, values] of snapshot(r, trainable))
      expect([name, values]).toEqual([name, before.get(name)]);
    expect(r.value('loss_scale')[0]).toBe(2 ** 39);
    // A scale fp16 can hold: the step runs, and with growthInterval 1 the scale doubles at once.
    r.value('loss_scale')[0] = 2 ** 8;
    await r.accumulate(batch(0), batch(0).labels, 0.5);
    await r.accumulate(batch(1), batch(1).labels, 0.5);
    const norm = await r.optimizerStep(1e-3, 1);
    expect(foundInf(r)).toBe(0);
    expect(Number.isFinite(norm)).toBe(true);
    expect(r.value('loss_scale')[0]).toBe(2 ** 9);
    expect(r.params.get(trainable[0]!)).not.toEqual(before.get(trainable[0]!));
  });

  it('bf16 has no loss scaling', () => {
    const { manifest } = runner({ mixedPrecision: 'bf16' });
    expect(manifest.mixedPrecision).toEqual({ dtype: 'bfloat16' });
    expect(manifest.state.some((e) => e.role === 'loss-scale')).toBe(false);
    expect(manifest.graphs.train.outputs).not.toContain('found_inf');
  });
});
