import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArtifactManifest, GraphIO } from '@ortrain/artifacts';
import { readSafetensors } from '@ortrain/artifacts';
import type { Batch } from '@ortrain/data';
import { encodeModel, loadModel, type Tensor } from '@ortrain/graph';
import * as ort from 'onnxruntime-node';
import { buildMultiStepModel } from './loop.js';
import { type Device, type ProviderChoice, selectProvider, sessionOptions } from './provider.js';
import { StateBuffers } from './state.js';

export interface RuntimeOptions {
  /** Default `auto`: CUDA when it loads, else CPU. */
  device?: 'auto' | Device;
  /** ONNX Runtime intra-op threads; 0 (default) keeps its default. */
  numThreads?: number;
}

export interface StepResult {
  loss: number;
  /** Global gradient norm before clipping (what HF logs as grad_norm). */
  gradNorm: number;
}

export interface EvalResult {
  /** Row-major [batch, numLabels]. */
  logits: Float32Array;
  /** Mean loss over the batch when labels were given. */
  loss?: number;
}

type GraphKind = keyof ArtifactManifest['graphs'];
const SCALARS = ['learning_rate', 'step', 'grad_scale'] as const;
type Scalar = (typeof SCALARS)[number];

/** One ONNX Runtime session over a graph, with its feeds and pre-allocated state outputs resolved once. */
class BoundGraph {
  /** State names whose `.new` output this graph writes (in place, or swapped after each run). */
  readonly writes: string[];
  /** Inputs split once into state entries and per-run feeds, so a step only looks tensors up. */
  private readonly stateInputs: string[];
  private readonly extraInputs: string[];
  /** Outputs fetched into fresh tensors (everything but the state it writes). */
  private readonly plainOutputs: string[];

  private constructor(
    readonly name: string,
    private readonly session: ort.InferenceSession,
    io: GraphIO,
    private readonly state: StateBuffers,
  ) {
    this.writes = io.outputs
      .filter((o) => o.endsWith('.new') && state.has(o.slice(0, -4)))
      .map((o) => o.slice(0, -4));
    this.stateInputs = io.inputs.filter((i) => state.has(i));
    this.extraInputs = io.inputs.filter((i) => !state.has(i));
    const written = new Set(this.writes.map((s) => `${s}.new`));
    this.plainOutputs = io.outputs.filter((o) => !written.has(o));
  }

  static async create(
    name: string,
    model: string | Uint8Array,
    io: GraphIO,
    state: StateBuffers,
    config: { device: Device; numThreads: number },
  ): Promise<BoundGraph> {
    const session = await ort.InferenceSession.create(model as string, sessionOptions(config));
    return new BoundGraph(name, session, io, state);
  }

  /** Runs with `extra` feeds for everything that is not state; returns the non-state outputs. */
  async run(extra: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of this.stateInputs) feeds[input] = this.state.tensor(input);
    for (const input of this.extraInputs) {
      const t = extra[input];
      if (!t) throw new Error(`${this.name} graph: no value for input '${input}'`);
      feeds[input] = t;
    }
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const out of this.plainOutputs) fetches[out] = null;
    for (const s of this.writes) fetches[`${s}.new`] = this.state.target(s);
    const results = (await this.session.run(feeds, fetches as ort.InferenceSession.FetchesType)) as Record<
      string,
      ort.Tensor
    >;
    this.state.swap(this.writes);
    return results;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * Runs the compiled graphs of an artifacts folder (manifest.json) on ONNX Runtime. Parameters and optimizer
 * state live in typed arrays fed zero-copy, with outputs written into pre-allocated buffers: the same ones in
 * place when the optimizer clips, else a second set swapped after each run (see StateBuffers).
 */
export class TrainingSession {
  private readonly graphs = new Map<string, Promise<BoundGraph>>();
  private readonly scalars = new Map<Scalar, ort.Tensor>(
    SCALARS.map((s) => [s, new ort.Tensor('float32', new Float32Array(1), [])]),
  );
  private readonly trainable: string[];
  private gradsReady = false;
  /** `dropout_seed`, the per-run int64 the dropout masks derive from; runs given none count up from 0. */
  private readonly seed = new ort.Tensor('int64', new BigInt64Array(1), []);
  private runs = 0n;

  private constructor(
    readonly dir: string,
    readonly manifest: ArtifactManifest,
    readonly provider: ProviderChoice,
    private readonly numThreads: number,
    private readonly state: StateBuffers,
  ) {
    this.trainable = manifest.parameters.filter((p) => p.trainable).map((p) => p.name);
  }

  /** Opens the artifacts in `dir` (manifest.json, the graphs and the initial weights). */
  static async open(dir: string, options: RuntimeOptions = {}): Promise<TrainingSession> {
    const manifest = readManifest(dir);
    const provider = await selectProvider(options.device ?? 'auto');
    // In place when the optimizer clips: see StateOptions.inPlace for why that makes it safe.
    const state = new StateBuffers({ inPlace: manifest.optimizer.maxGradNorm > 0 });
    const weightsPath = join(dir, manifest.weights);
    const weights = readSafetensors(weightsPath);
    for (const p of manifest.parameters) {
      const w = weights.get(p.name);
      if (!w) throw new Error(`${weightsPath}: parameter '${p.name}' is missing`);
      if (!(w.data instanceof Float32Array) || w.dims.join() !== p.shape.join()) {
        throw new Error(
          `${weightsPath}: '${p.name}' is ${w.dataType} [${w.dims}], the manifest says float32 [${p.shape}]`,
        );
      }
      state.add(p.name, p.shape, w.data, p.trainable);
      if (p.trainable) {
        state.add(`${p.name}.exp_avg`, p.shape);
        state.add(`${p.name}.exp_avg_sq`, p.shape);
      }
    }
    return new TrainingSession(dir, manifest, provider, options.numThreads ?? 0, state);
  }

  private graph(kind: GraphKind | 'multistep'): Promise<BoundGraph> {
    let g = this.graphs.get(kind);
    if (!g) {
      const config = { device: this.provider.device, numThreads: this.numThreads };
      if (kind === 'multistep') {
        const io = this.manifest.graphs.train;
        const perStep = [...this.manifest.inputs, 'labels', 'learning_rate', 'step', 'dropout_seed'].filter(
          (n) => io.inputs.includes(n),
        );
        const model = buildMultiStepModel(loadModel(join(this.dir, io.file)), perStep);
        g = BoundGraph.create(kind, encodeModel(model), io, this.state, config);
      } else {
        const io = this.manifest.graphs[kind];
        // Before binding: the graph resolves its state inputs (the accumulators among them) once.
        if (kind === 'gradient' || kind === 'optimizer') this.ensureGrads();
        g = BoundGraph.create(kind, join(this.dir, io.file), io, this.state, config);
      }
      this.graphs.set(kind, g);
    }
    return g;
  }

  private ensureGrads(): void {
    if (this.gradsReady) return;
    for (const name of this.trainable) this.state.add(`${name}.grad`, this.state.shape(name));
    this.gradsReady = true;
  }

  private setScalar(name: Scalar, v: number): ort.Tensor {
    const t = this.scalars.get(name)!;
    (t.data as Float32Array)[0] = v;
    return t;
  }

  private setSeed(seed: bigint = this.runs): ort.Tensor {
    (this.seed.data as BigInt64Array)[0] = seed;
    this.runs = seed + 1n;
    return this.seed;
  }

  private batchFeeds(batch: Batch, needLabels: boolean): Record<string, ort.Tensor> {
    const [b, s] = batch.dims;
    this.checkLength(s);
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.manifest.inputs)
      feeds[name] = new ort.Tensor('int64', batchField(batch, name), [b, s]);
    if (batch.labels) {
      const type = batch.labels instanceof Float32Array ? 'float32' : 'int64';
      if (type !== this.manifest.labels.dataType) {
        throw new Error(
          `labels are ${type}, the model (${this.manifest.model.problemType}) expects ${this.manifest.labels.dataType}`,
        );
      }
      feeds['labels'] = new ort.Tensor(type, batch.labels, [b]);
    } else if (needLabels) {
      throw new Error('this batch has no labels; training needs them');
    }
    return feeds;
  }

  /** Position embeddings end at max_position_embeddings: longer rows would fail deep inside the graph. */
  private checkLength(seq: number): void {
    const max = this.manifest.model.maxPositionEmbeddings;
    if (seq > max) {
      throw new Error(
        `a batch of ${seq} tokens per row exceeds the model's max_position_embeddings (${max}); ` +
          `tokenize with truncation to at most ${max} tokens (maxSeqLength)`,
      );
    }
  }

  /**
   * One optimizer step on one batch: forward, loss, gradients, clipping and AdamW in a single run. The dropout
   * masks derive from `dropoutSeed` alone (default: the previous run's seed + 1, from 0); so do accumulate's,
   * and multiStep's K steps take firstDropoutSeed + i.
   */
  async step(batch: Batch, learningRate: number, step: number, dropoutSeed?: bigint): Promise<StepResult> {
    const g = await this.graph('train');
    const out = await g.run({
      ...this.batchFeeds(batch, true),
      learning_rate: this.setScalar('learning_rate', learningRate),
      step: this.setScalar('step', step),
      dropout_seed: this.setSeed(dropoutSeed),
    });
    return { loss: scalar(out, 'loss'), gradNorm: scalar(out, 'grad_norm') };
  }

  /**
   * Adds one batch's gradients, scaled by `gradScale` (HF's 1 / gradient_accumulation_steps), into the
   * accumulators; returns the batch's (unscaled) loss.
   */
  async accumulate(batch: Batch, gradScale: number, dropoutSeed?: bigint): Promise<number> {
    const g = await this.graph('gradient');
    const out = await g.run({
      ...this.batchFeeds(batch, true),
      grad_scale: this.setScalar('grad_scale', gradScale),
      dropout_seed: this.setSeed(dropoutSeed),
    });
    return scalar(out, 'loss');
  }

  /** Clips and applies the accumulated gradients, then zeroes them. Returns the pre-clip gradient norm. */
  async applyOptimizer(learningRate: number, step: number): Promise<number> {
    const g = await this.graph('optimizer');
    const out = await g.run({
      learning_rate: this.setScalar('learning_rate', learningRate),
      step: this.setScalar('step', step),
    });
    for (const name of this.trainable) this.state.get(`${name}.grad`).fill(0);
    return scalar(out, 'grad_norm');
  }

  /**
   * K optimizer steps in one session run (an ONNX Loop carrying parameters and moments), for devices where
   * copying the state in and out of every run would dominate. Batches must share a batch size; shorter ones
   * are right-padded (ids, mask and types with 0) to the longest, which attention masking makes neutral.
   */
  async multiStep(
    batches: Batch[],
    learningRates: number[],
    firstStep: number,
    firstDropoutSeed?: bigint,
  ): Promise<StepResult[]> {
    const k = batches.length;
    if (k === 0 || learningRates.length !== k) {
      throw new Error(`multiStep: ${k} batches and ${learningRates.length} learning rates`);
    }
    const g = await this.graph('multistep');
    const rows = batches[0]!.dims[0];
    const seq = Math.max(...batches.map((b) => b.dims[1]));
    this.checkLength(seq);
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.manifest.inputs) {
      const stacked = new BigInt64Array(k * rows * seq);
      batches.forEach((b, i) => {
        if (b.dims[0] !== rows)
          throw new Error(`multiStep: batch ${i} has ${b.dims[0]} rows, batch 0 has ${rows}`);
        const src = batchField(b, name);
        for (let r = 0; r < rows; r++) {
          stacked.set(src.subarray(r * b.dims[1], (r + 1) * b.dims[1]), (i * rows + r) * seq);
        }
      });
      feeds[name] = new ort.Tensor('int64', stacked, [k, rows, seq]);
    }
    const first = batches[0]!.labels;
    if (!first) throw new Error('multiStep: batches have no labels; training needs them');
    const labels = first instanceof Float32Array ? new Float32Array(k * rows) : new BigInt64Array(k * rows);
    batches.forEach((b, i) => {
      // Both arrays share the labels' element type (checked against the first batch by batchFeeds' rule).
      (labels as Float32Array).set(b.labels as Float32Array, i * rows);
    });
    feeds['labels'] = new ort.Tensor(first instanceof Float32Array ? 'float32' : 'int64', labels, [k, rows]);
    feeds['learning_rate'] = new ort.Tensor('float32', Float32Array.from(learningRates), [k]);
    feeds['step'] = new ort.Tensor(
      'float32',
      Float32Array.from(learningRates, (_, i) => firstStep + i),
      [k],
    );
    const seed = this.setSeed(firstDropoutSeed).data as BigInt64Array;
    feeds['dropout_seed'] = new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: k }, (_, i) => seed[0]! + BigInt(i)),
      [k],
    );
    this.runs = seed[0]! + BigInt(k);
    const out = await g.run(feeds);
    const losses = out['loss']!.data as Float32Array;
    const norms = out['grad_norm']!.data as Float32Array;
    return Array.from(losses, (loss, i) => ({ loss, gradNorm: norms[i]! }));
  }

  /** Forward pass without dropout; the loss too when the batch has labels (else the predict graph runs). */
  async evalBatch(batch: Batch): Promise<EvalResult> {
    const g = await this.graph(batch.labels ? 'eval' : 'predict');
    const out = await g.run(this.batchFeeds(batch, false));
    const logits = out['logits'];
    if (!logits) throw new Error(`${g.name} graph: no 'logits' output`);
    const result: EvalResult = { logits: logits.data as Float32Array };
    if (out['loss']) result.loss = scalar(out, 'loss');
    return result;
  }

  /**
   * The live array holding a parameter's or moment's current values (no copy). Steps write into the other
   * buffer of the pair and swap, so the view belongs to the state only until the next step.
   */
  view(name: string): Float32Array {
    return this.state.get(name);
  }

  /** Copies of the current parameters, in manifest order. */
  weights(): Tensor[] {
    return this.manifest.parameters.map((p) => ({
      name: p.name,
      dataType: 'float32',
      dims: [...p.shape],
      data: this.state.get(p.name).slice(),
    }));
  }

  /** The AdamW moments (`p.exp_avg`, `p.exp_avg_sq`), copied. */
  optimizerState(): Tensor[] {
    return this.trainable.flatMap((n) =>
      [`${n}.exp_avg`, `${n}.exp_avg_sq`].map((m) => ({
        name: m,
        dataType: 'float32' as const,
        dims: [...this.state.shape(m)],
        data: this.state.get(m).slice(),
      })),
    );
  }

  /** Loads parameters (and moments, when given) by name; every name must be known and every shape match. */
  load(tensors: Iterable<Tensor>, what = 'state'): void {
    for (const t of tensors) {
      if (!this.state.has(t.name))
        throw new Error(`${what}: '${t.name}' is not a parameter or moment of this model`);
      if (!(t.data instanceof Float32Array)) throw new Error(`${what}: '${t.name}' is not float32`);
      if (t.dims.join() !== this.state.shape(t.name).join()) {
        throw new Error(`${what}: '${t.name}' is [${t.dims}], expected [${this.state.shape(t.name)}]`);
      }
      this.state.set(t.name, t.data);
    }
  }

  async release(): Promise<void> {
    for (const g of this.graphs.values()) await (await g).release();
    this.graphs.clear();
  }
}

function batchField(batch: Batch, name: string): BigInt64Array {
  switch (name) {
    case 'input_ids':
      return batch.inputIds;
    case 'attention_mask':
      return batch.attentionMask;
    case 'token_type_ids':
      return batch.tokenTypeIds;
    default:
      throw new Error(`the model takes an input '${name}' that batches do not carry`);
  }
}

function scalar(out: Record<string, ort.Tensor>, name: string): number {
  const t = out[name];
  if (!t) throw new Error(`graph output '${name}' is missing`);
  return Number((t.data as Float32Array)[0]);
}

export function readManifest(dir: string): ArtifactManifest {
  const path = join(dir, 'manifest.json');
  let m: ArtifactManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: cannot read the artifacts manifest (${(e as Error).message})`);
  }
  if (m.format !== 'ortrain-artifacts' || m.version !== 1) {
    throw new Error(`${path}: not an ortrain artifacts manifest (format ${m.format}, version ${m.version})`);
  }
  return m;
}
