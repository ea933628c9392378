import { join } from 'node:path';
import {
  type ArtifactManifest,
  type CompiledModel,
  DROPOUT_SEED,
  type GraphIO,
  type GraphKind,
  openCompiled,
  type StateEntry,
} from '@ortrain/artifacts';
import type { Batch } from '@ortrain/data';
import { bytesPerElement, numel, type Tensor } from '@ortrain/graph';
import * as ort from 'onnxruntime-node';
import { StateBuffers } from './buffers.js';
import { identityModel, type ProviderChoice, sessionOptions } from './device.js';
import { bindingSession, DirectSession, type GraphSession } from './direct-session.js';
import { cApiUnavailable } from './ort-c-api.js';
import { collectGarbage, RELEASE_ABOVE_BYTES } from './release.js';

export interface ReplicaOptions {
  /** The device its sessions run on (see selectProvider). */
  provider: ProviderChoice;
  /** ONNX Runtime intra-op threads; 0 (default) keeps its default. */
  numThreads?: number;
  /**
   * Keep state on the device between runs (gpu-buffer outputs fed back as inputs); read it back with `sync()`.
   * Default: on WebGPU (the CUDA EP's gpu-buffer outputs are untested).
   */
  deviceResident?: boolean;
  /**
   * How CPU sessions run: `direct` through ONNX Runtime's C API, where the new state stays in the buffers
   * ONNX Runtime wrote (see DirectSession); `binding` through onnxruntime-node's sessions, which copy every
   * output into a new JS buffer. Default: `direct` when the C API loads (see cApiUnavailable). GPU devices
   * always use the binding.
   */
  sessions?: SessionKind;
  /**
   * With `binding` sessions on CPU, free the binding's copies of the state a run wrote right after it when the
   * state written is larger than this many bytes (see RELEASE_ABOVE_BYTES, the default).
   */
  releaseCopiesAbove?: number;
}

export type SessionKind = 'direct' | 'binding';

export interface StepResult {
  loss: number;
  /** Global gradient norm before clipping (what HF logs as grad_norm). */
  gradNorm: number;
  /** fp16 loss scaling: the gradients overflowed, the update was skipped (GradScaler's found_inf). */
  skipped?: boolean;
}

export interface EvalResult {
  /** Row-major [batch, numLabels]. */
  logits: Float32Array;
  /** Mean loss over the batch when labels were given. */
  loss?: number;
}

const SCALARS = ['learning_rate', 'step', 'grad_scale'] as const;
type Scalar = (typeof SCALARS)[number];

/**
 * One ONNX Runtime session over a graph, bound to the state once: which inputs are state, which state it
 * writes (its new value fetched straight into the state's buffer), which accumulators it consumes.
 */
class BoundGraph {
  private readonly stateInputs: string[];
  private readonly extraInputs: string[];
  /** State entries this graph writes, with the output holding each new value. */
  private readonly writes: StateEntry[];
  /** Gradient accumulators it reads without writing: spent by this run, zeroed after it. */
  private readonly consumes: string[];
  /** Outputs fetched into fresh tensors (everything but the state it writes). */
  private readonly plainOutputs: string[];
  /** Whether a run frees the binding's copies of the state it wrote at once (see RELEASE_ABOVE_BYTES). */
  private readonly releaseCopies: boolean;
  constructor(
    readonly name: GraphKind,
    private readonly session: GraphSession,
    io: GraphIO,
    entries: ReadonlyMap<string, StateEntry>,
    private readonly state: StateBuffers,
    private readonly where: {
      /** Uploads the state entries named (parameters, moments) that have no device copy yet. */
      upload?: (names: string[]) => Promise<void>;
      meter?: { bytes: number };
      releaseCopiesAbove?: number;
    },
  ) {
    this.stateInputs = io.inputs.filter((i) => entries.has(i));
    this.extraInputs = io.inputs.filter((i) => !entries.has(i));
    this.writes = writesOf(name, entries);
    this.consumes = [...entries.values()]
      .filter((e) => e.role === 'gradient' && e.readBy.includes(name) && !e.writtenBy.includes(name))
      .map((e) => e.name);
    const written = new Set(this.writes.map((e) => e.update));
    this.plainOutputs = io.outputs.filter((o) => !written.has(o));
    const bytes = this.writes.reduce((sum, e) => sum + numel(e.shape) * bytesPerElement(e.dataType), 0);
    this.releaseCopies =
      session.copiesOutputs &&
      where.upload === undefined &&
      bytes > (where.releaseCopiesAbove ?? RELEASE_ABOVE_BYTES);
  }

  /** Runs with `extra` feeds for everything that is not state; returns the non-state outputs. */
  async run(extra: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    if (this.where.meter) this.where.meter.bytes = 0;
    await this.where.upload?.(this.stateInputs);
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of this.stateInputs) feeds[input] = this.state.tensor(input);
    for (const input of this.extraInputs) {
      const t = extra[input];
      if (!t) throw new Error(`${this.name} graph: no value for input '${input}'`);
      feeds[input] = t;
    }
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const out of this.plainOutputs) fetches[out] = null;
    const resident = this.where.upload !== undefined;
    // Resident: ONNX Runtime allocates the new values on the device (gpu-buffer outputs), kept there.
    for (const e of this.writes) fetches[e.update] = resident ? null : this.state.target(e.name);
    const results = await this.session.run(feeds, fetches);
    if (this.where.meter) this.where.meter.bytes += hostBytes(feeds) + hostBytes(results);
    if (resident) for (const e of this.writes) this.state.keepOnDevice(e.name, results[e.update]!);
    else this.state.swap(this.writes.map((e) => e.name));
    for (const name of this.consumes) this.state.zero(name);
    if (this.releaseCopies) {
      // The state was written into our buffers; the binding's copies of it are garbage: free them now.
      for (const e of this.writes) delete results[e.update];
      collectGarbage();
    }
    return results;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * A compiled model's sessions and state on one device: parameters, optimizer moments and accumulators live in
 * typed arrays fed zero-copy, allocated and bound from the manifest's state section (the replica knows roles,
 * not optimizers), with outputs written into pre-allocated buffers: the same ones in place when the optimizer
 * clips, else a second set swapped after each run (see StateBuffers). A trainer can hold several.
 */
export class Replica {
  private readonly graphs = new Map<GraphKind, Promise<BoundGraph>>();
  private readonly scalars = new Map<Scalar, ort.Tensor>(
    SCALARS.map((s) => [s, new ort.Tensor('float32', new Float32Array(1), [])]),
  );
  private readonly entries: ReadonlyMap<string, StateEntry>;
  private readonly state: StateBuffers;
  /** `dropout_seed`, the per-run int64 the dropout masks derive from; runs given none count up from 0. */
  private readonly seed = new ort.Tensor('int64', new BigInt64Array(1), []);
  private runs = 0n;
  readonly manifest: ArtifactManifest;
  readonly dir: string;
  readonly provider: ProviderChoice;
  private readonly numThreads: number;
  /** Whether runs leave state on the device (see ReplicaOptions.deviceResident). */
  readonly deviceResident: boolean;
  /** How its sessions run (see ReplicaOptions.sessions). */
  readonly sessions: SessionKind;
  private readonly releaseCopiesAbove: number | undefined;
  /** Host<->device bytes of the latest session run (inputs fed and outputs fetched from the host; 0 on CPU). */
  private readonly transfer = { bytes: 0 };
  /** Identity sessions that copy state between host and device, by direction and entry names. */
  private readonly copySessions = new Map<string, Promise<ort.InferenceSession>>();

  private constructor(model: CompiledModel, options: ReplicaOptions) {
    this.dir = model.dir;
    this.manifest = model.manifest;
    this.provider = options.provider;
    this.numThreads = options.numThreads ?? 0;
    this.deviceResident = options.deviceResident ?? options.provider.device === 'webgpu';
    this.releaseCopiesAbove = options.releaseCopiesAbove;
    this.sessions = sessionKind(options);
    this.entries = new Map(model.manifest.state.map((e) => [e.name, e]));
    // In place when the optimizer clips: see StateOptions.inPlace for why that makes it safe.
    this.state = new StateBuffers({ inPlace: model.manifest.optimizer.maxGradNorm > 0 });
    for (const e of model.manifest.state) {
      if (e.role === 'parameter') this.allocate(e, model.weights.get(e.name)!.data as ArrayLike<number>);
    }
  }

  /** A replica of a compiled model (in memory, or a compiled folder) with its initial weights. */
  static async open(model: CompiledModel | string, options: ReplicaOptions): Promise<Replica> {
    return new Replica(typeof model === 'string' ? openCompiled(model) : model, options);
  }

  private allocate(e: StateEntry, init?: ArrayLike<number>): void {
    const start =
      init ?? (e.initial !== undefined ? new Array<number>(numel(e.shape)).fill(e.initial) : undefined);
    this.state.add(e.name, e, start, e.writtenBy.length > 0);
  }

  /** The entry named `name`, allocated (zeros) on first use: accumulators exist only once a graph needs them. */
  private entry(name: string, what: string): StateEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${what}: '${name}' is not a parameter or moment of this model`);
    if (!this.state.has(name)) this.allocate(e);
    return e;
  }

  private graph(kind: GraphKind): Promise<BoundGraph> {
    let g = this.graphs.get(kind);
    if (!g) {
      const io = this.manifest.graphs[kind];
      if (!io) {
        throw new Error(
          `${this.dir}: compiled without the ${kind} graph (compile with multiStep: true; the Trainer does ` +
            'when steps_per_run can exceed 1)',
        );
      }
      for (const i of io.inputs) if (this.entries.has(i)) this.entry(i, kind);
      const device = this.provider.device;
      const where = {
        ...(this.deviceResident && { upload: (names: string[]) => this.upload(names) }),
        ...(device !== 'cpu' && { meter: this.transfer }),
        ...(this.releaseCopiesAbove !== undefined && { releaseCopiesAbove: this.releaseCopiesAbove }),
      };
      const options: ort.InferenceSession.SessionOptions = {
        ...sessionOptions({
          device,
          numThreads: this.numThreads,
          ...(this.provider.deviceId !== undefined && { deviceId: this.provider.deviceId }),
        }),
        ...(this.deviceResident && {
          preferredOutputLocation: outputLocations(io, writesOf(kind, this.entries)),
        }),
      };
      const file = join(this.dir, io.file);
      const session: Promise<GraphSession> =
        this.sessions === 'direct'
          ? Promise.resolve().then(() => DirectSession.create(file, options))
          : ort.InferenceSession.create(file, options).then(bindingSession);
      g = session.then((s) => new BoundGraph(kind, s, io, this.entries, this.state, where));
      this.graphs.set(kind, g);
    }
    return g;
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
      [DROPOUT_SEED]: this.setSeed(dropoutSeed),
    });
    return { loss: scalar(out, 'loss'), ...optimizerResult(out) };
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
      [DROPOUT_SEED]: this.setSeed(dropoutSeed),
    });
    return scalar(out, 'loss');
  }

  /**
   * Clips and applies the accumulated gradients, then zeroes them. Returns the pre-clip gradient norm (and,
   * with fp16 loss scaling, whether the step was skipped).
   */
  async applyOptimizer(learningRate: number, step: number): Promise<Omit<StepResult, 'loss'>> {
    const g = await this.graph('optimizer');
    const out = await g.run({
      learning_rate: this.setScalar('learning_rate', learningRate),
      step: this.setScalar('step', step),
    });
    return optimizerResult(out);
  }

  /**
   * fp16's current loss scale (the `loss-scale` state entry); undefined without loss scaling. A device-resident
   * scale is read back first (one scalar), as view() only reads host buffers.
   */
  async lossScale(): Promise<number | undefined> {
    const e = this.manifest.state.find((x) => x.role === 'loss-scale');
    if (!e) return undefined;
    if (this.state.deviceOnly().includes(e.name)) await this.copyState([e.name], 'toHost');
    return this.view(e.name)[0];
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
    const seed = (this.setSeed(firstDropoutSeed).data as BigInt64Array)[0]!;
    feeds[DROPOUT_SEED] = new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: k }, (_, i) => seed + BigInt(i)),
      [k],
    );
    this.runs = seed + BigInt(k);
    const out = await g.run(feeds);
    const losses = out['loss']!.data as Float32Array;
    const norms = out['grad_norm']!.data as Float32Array;
    const skipped = out['found_inf']?.data as Float32Array | undefined;
    return Array.from(losses, (loss, i) => ({
      loss,
      gradNorm: norms[i]!,
      ...(skipped && { skipped: skipped[i] !== 0 }),
    }));
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

  /** Bytes the latest session run moved between host and device: inputs fed and outputs fetched (0 on CPU). */
  get lastTransferBytes(): number {
    return this.transfer.bytes;
  }

  /**
   * Reads the state a device-resident replica holds on the device only back into its host buffers, so that
   * `weights()`, `optimizerState()` and `view()` see it; the device copies stay current. Nothing to do on the
   * CPU or after no run.
   */
  async sync(): Promise<void> {
    await this.copyState(this.state.deviceOnly(), 'toHost');
  }

  /**
   * Puts parameters and moments a graph reads on the device once (after open or load), so that runs that do
   * not write them (evaluation, prediction) feed device copies. Accumulators stay on the host: they are
   * zeroed there after every optimizer run.
   */
  private async upload(names: string[]): Promise<void> {
    const missing = names.filter(
      (n) => this.entries.get(n)?.role !== 'gradient' && !this.state.hasDeviceCopy(n),
    );
    await this.copyState(missing, 'toDevice');
  }

  /**
   * Copies state entries between host and device through a session of Identity nodes; both are then current.
   * The sessions live as long as the replica: a device tensor dies with the session that made it.
   */
  private async copyState(names: string[], direction: 'toHost' | 'toDevice'): Promise<void> {
    if (names.length === 0) return;
    const toDevice = direction === 'toDevice';
    const key = `${direction}:${names.join('\n')}`;
    let session = this.copySessions.get(key);
    if (!session) {
      session = ort.InferenceSession.create(identityModel(names.map((n) => this.state.type(n))), {
        ...sessionOptions({ device: this.provider.device, numThreads: this.numThreads }),
        ...(toDevice && { preferredOutputLocation: 'gpu-buffer' as const }),
      });
      this.copySessions.set(key, session);
    }
    const feeds: Record<string, ort.Tensor> = {};
    const fetches: Record<string, ort.Tensor | null> = {};
    names.forEach((n, i) => {
      feeds[`x${i}`] = toDevice ? this.state.hostTensor(n) : this.state.tensor(n);
      fetches[`y${i}`] = toDevice ? null : this.state.hostTensor(n);
    });
    const out = await (await session).run(feeds, fetches as ort.InferenceSession.FetchesType);
    if (toDevice) {
      names.forEach((n, i) => {
        this.state.keepOnDevice(n, out[`y${i}`]!);
      });
    }
    this.state.markReadBack(names);
    const bytes = (n: string) => (this.state.hostTensor(n).data as ArrayBufferView).byteLength;
    this.transfer.bytes += names.reduce((b, n) => b + bytes(n), 0);
  }

  /**
   * The live array holding a float32 parameter's or moment's current values (no copy). Steps write into the
   * other buffer of the pair and swap, so the view belongs to the state only until the next step.
   */
  view(name: string): Float32Array {
    const e = this.entry(name, 'view');
    const data = this.state.get(name);
    if (!(data instanceof Float32Array)) throw new Error(`view: '${name}' is ${e.dataType}, not float32`);
    return data;
  }

  /** Copies of the entries with a role (parameters, moments), in manifest order. */
  private copies(role: StateEntry['role']): Tensor[] {
    return this.manifest.state
      .filter((e) => e.role === role)
      .map((e) => {
        this.entry(e.name, role);
        return {
          name: e.name,
          dataType: e.dataType,
          dims: [...e.shape],
          data: this.state.get(e.name).slice(),
        };
      });
  }

  /** Copies of the current parameters, in manifest order. */
  weights(): Tensor[] {
    return this.copies('parameter');
  }

  /**
   * The optimizer state, copied: the moments (for AdamW `p.exp_avg`, `p.exp_avg_sq`) and, with fp16 loss
   * scaling, the scale and its growth tracker (GradScaler's state).
   */
  optimizerState(): Tensor[] {
    return [...this.copies('moment'), ...this.copies('loss-scale'), ...this.copies('growth-tracker')];
  }

  /** Loads state (parameters, moments) by name; every name must be known and every type and shape match. */
  load(tensors: Iterable<Tensor>, what = 'state'): void {
    for (const t of tensors) {
      const e = this.entry(t.name, what);
      if (t.dataType !== e.dataType)
        throw new Error(`${what}: '${t.name}' is ${t.dataType}, expected ${e.dataType}`);
      if (t.dims.join() !== e.shape.join()) {
        throw new Error(`${what}: '${t.name}' is [${t.dims}], expected [${e.shape}]`);
      }
      this.state.set(t.name, t.data as ArrayLike<number>);
    }
  }

  async release(): Promise<void> {
    this.state.releaseDevice();
    for (const g of this.graphs.values()) await (await g).release();
    for (const s of this.copySessions.values()) await (await s).release();
    this.graphs.clear();
    this.copySessions.clear();
  }
}

/** The sessions a replica's options ask for, and get: direct ones only on the CPU and when the C API loads. */
function sessionKind(options: ReplicaOptions): SessionKind {
  if (options.provider.device !== 'cpu') {
    if (options.sessions === 'direct') {
      throw new Error(`sessions "direct" run on the CPU only, not on ${options.provider.device}`);
    }
    return 'binding';
  }
  if (options.sessions === 'binding') return 'binding';
  const unavailable = cApiUnavailable();
  if (unavailable === null) return 'direct';
  if (options.sessions === 'direct') throw new Error(unavailable);
  return 'binding';
}

/** The state entries graph `kind` writes. */
function writesOf(kind: GraphKind, entries: ReadonlyMap<string, StateEntry>): StateEntry[] {
  return [...entries.values()].filter((e) => e.writtenBy.includes(kind));
}

/** Device-resident sessions: the new state stays on the device, everything else comes to the host. */
function outputLocations(io: GraphIO, writes: StateEntry[]): Record<string, ort.Tensor.DataLocation> {
  const onDevice = new Set(writes.map((e) => e.update));
  return Object.fromEntries(io.outputs.map((o) => [o, onDevice.has(o) ? 'gpu-buffer' : 'cpu']));
}

/** Bytes of the host-side tensors among `tensors` (device ones moved nothing). */
function hostBytes(tensors: Record<string, ort.Tensor>): number {
  let n = 0;
  for (const t of Object.values(tensors))
    if (t.location === 'cpu') n += (t.data as ArrayBufferView).byteLength;
  return n;
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

function optimizerResult(out: Record<string, ort.Tensor>): Omit<StepResult, 'loss'> {
  const gradNorm = scalar(out, 'grad_norm');
  return out['found_inf'] ? { gradNorm, skipped: scalar(out, 'found_inf') !== 0 } : { gradNorm };
}

function scalar(out: Record<string, ort.Tensor>, name: string): number {
  const t = out[name];
  if (!t) throw new Error(`graph output '${name}' is missing`);
  return Number((t.data as Float32Array)[0]);
}
