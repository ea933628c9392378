import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import type { ArtifactManifest } from '../src/manifest.js';
import { readSafetensors } from '../src/safetensors.js';
import { f32, i64, scalar, session } from './helpers.js';

export interface Batch {
  shape: number[];
  input_ids: number[];
  attention_mask: number[];
  token_type_ids: number[];
}

/**
 * The smallest loop that drives compiled artifacts in ONNX Runtime, for tests: parameters and AdamW moments
 * are kept here and fed to each run, as the manifest names them (the real runtime lives in @ortrain/trainer).
 */
export class ArtifactRunner {
  readonly manifest: ArtifactManifest;
  readonly params = new Map<string, Float32Array>();
  private readonly state = new Map<string, Float32Array>();
  private readonly sessions = new Map<string, ort.InferenceSession>();
  /** Fed as `dropout_seed` to the graphs that take it. */
  dropoutSeed = 0n;

  constructor(readonly dir: string) {
    this.manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const weights = readSafetensors(join(dir, this.manifest.weights));
    for (const p of this.manifest.parameters) {
      this.params.set(p.name, weights.get(p.name)!.data as Float32Array);
      if (!p.trainable) continue;
      for (const s of ['exp_avg', 'exp_avg_sq', 'grad'])
        this.state.set(`${p.name}.${s}`, new Float32Array(this.params.get(p.name)!.length));
    }
  }

  /** Replaces parameter values (e.g. torch's head weights). */
  set(name: string, values: number[]): void {
    const p = this.params.get(name);
    if (p === undefined || p.length !== values.length)
      throw new Error(`no parameter '${name}' of ${values.length} values`);
    p.set(values);
  }

  private async run(graph: keyof ArtifactManifest['graphs'], extra: Record<string, ort.Tensor>) {
    const io = this.manifest.graphs[graph]!;
    let s = this.sessions.get(graph);
    if (s === undefined) this.sessions.set(graph, (s = await session(join(this.dir, io.file))));
    const shapes = new Map(this.manifest.parameters.map((p) => [p.name, p.shape]));
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of io.inputs) {
      if (extra[name] !== undefined) feeds[name] = extra[name];
      else if (name === 'dropout_seed')
        feeds[name] = new ort.Tensor('int64', BigInt64Array.of(this.dropoutSeed), []);
      else if (this.params.has(name)) feeds[name] = f32(this.params.get(name)!, shapes.get(name)!);
      else if (this.state.has(name))
        feeds[name] = f32(
          this.state.get(name)!,
          shapes.get(name.replace(/\.(exp_avg|exp_avg_sq|grad)$/, ''))!,
        );
      else throw new Error(`no feed for '${name}'`);
    }
    return s.run(feeds);
  }

  private batchFeeds(batch: Batch, labels?: number[]): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.manifest.inputs)
      feeds[name] = i64(batch[name as keyof Batch] as number[], batch.shape);
    if (labels !== undefined) {
      feeds['labels'] =
        this.manifest.labels.dataType === 'int64'
          ? i64(labels, [labels.length])
          : f32(labels, [labels.length]);
    }
    return feeds;
  }

  private update(out: ort.InferenceSession.ReturnType): void {
    for (const [name, t] of Object.entries(out)) {
      if (!name.endsWith('.new')) continue;
      const key = name.slice(0, -'.new'.length);
      const data = t.data as Float32Array;
      if (this.params.has(key)) this.params.set(key, data);
      else this.state.set(key, data);
    }
  }

  /** One train-graph run: returns [loss, grad_norm]. */
  async trainStep(
    batch: Batch,
    labels: number[],
    learningRate: number,
    step: number,
  ): Promise<[number, number]> {
    const out = await this.run('train', {
      ...this.batchFeeds(batch, labels),
      learning_rate: scalar(learningRate),
      step: scalar(step),
    });
    this.update(out);
    return [(out['loss']!.data as Float32Array)[0]!, (out['grad_norm']!.data as Float32Array)[0]!];
  }

  /** One gradient-graph run (adds into the accumulators): returns the micro-batch loss. */
  async accumulate(batch: Batch, labels: number[], gradScale: number): Promise<number> {
    const out = await this.run('gradient', {
      ...this.batchFeeds(batch, labels),
      grad_scale: scalar(gradScale),
    });
    this.update(out);
    return (out['loss']!.data as Float32Array)[0]!;
  }

  /** One optimizer-graph run from the accumulators, which it then zeroes: returns grad_norm. */
  async optimizerStep(learningRate: number, step: number): Promise<number> {
    const out = await this.run('optimizer', { learning_rate: scalar(learningRate), step: scalar(step) });
    this.update(out);
    for (const [k, v] of this.state) if (k.endsWith('.grad')) v.fill(0);
    return (out['grad_norm']!.data as Float32Array)[0]!;
  }

  async evaluate(batch: Batch, labels: number[]): Promise<{ logits: Float32Array; loss: number }> {
    const out = await this.run('eval', this.batchFeeds(batch, labels));
    return { logits: out['logits']!.data as Float32Array, loss: (out['loss']!.data as Float32Array)[0]! };
  }

  async predict(batch: Batch): Promise<Float32Array> {
    const out = await this.run('predict', this.batchFeeds(batch));
    return out['logits']!.data as Float32Array;
  }
}
