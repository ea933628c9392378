import { join } from 'node:path';
import {
  buildGradients,
  emptyGraph,
  type Graph,
  GraphBuilder,
  type Model,
  numel,
  prune,
  saveModel,
  type Tensor,
  type ValueInfo,
} from '@ortrain/graph';
import { type FileContent, writeDirAtomic } from './atomic.js';
import type { CompiledModel } from './compiled.js';
import type { BertConfig } from './config.js';
import { findDropoutSites, insertDropout } from './dropout/dropout.js';
import { addDropoutSeed, DROPOUT_SEED, seedDropout } from './dropout/mask.js';
import { familyOf } from './family/registry.js';
import { attachClassifier } from './head/attach.js';
import { importSource, type SourceOptions } from './import/source.js';
import { addCrossEntropy, addMse, expandLogSoftmax } from './loss/loss.js';
import {
  type ArtifactManifest,
  type DropoutInfo,
  type FloatType,
  type GraphIO,
  type GraphKind,
  type LossScaling,
  MANIFEST_VERSION,
  type MixedPrecisionInfo,
  type OptimizerInfo,
  type ParameterInfo,
  type StateEntry,
  type StateRole,
} from './manifest.js';
import { buildMultiStepModel } from './multistep.js';
import { addClipAndAdamW, momentInputs, optimizerOutputs } from './optimizer/adamw.js';
import {
  addLossScaleUpdate,
  DEFAULT_LOSS_SCALING,
  GROWTH_TRACKER,
  LOSS_SCALE,
} from './optimizer/loss-scale.js';
import { type PackReport, packTokens } from './packing/pack.js';
import { castToHalf, type MixedPrecisionReport } from './precision/mixed.js';
import { writeSafetensors } from './safetensors.js';

export interface CompileOptions extends SourceOptions {
  /** Folder name under `outDir`. */
  name: string;
  /** Parent folder of the artifacts (default `artifacts`). */
  outDir?: string;
  /** Number of labels (default 2); 1 means regression with MSE loss. */
  numLabels?: number;
  /** Dropout rates; default from config.json (hidden_dropout_prob, attention_probs_dropout_prob,
   * classifier_dropout ?? hidden_dropout_prob). 0 disables a site. */
  dropout?: Partial<DropoutInfo>;
  /** AdamW and clipping; defaults are HF TrainingArguments' (betas 0.9/0.999, eps 1e-8, weight decay 0,
   * max_grad_norm 1). */
  optimizer?: Partial<Omit<OptimizerInfo, 'type'>>;
  /** Parameters to freeze: a string matches a name prefix (e.g. `bert.embeddings.`), a RegExp tests the name. */
  freeze?: (string | RegExp)[];
  /** Seed for newly initialized weights (default 42). */
  seed?: number;
  /** Label names for the inference export's config.json (id2label); default LABEL_0, LABEL_1, ... */
  labelNames?: string[];
  /**
   * Token packing in the train, gradient and eval graphs (default true): row-wise layers run on the real
   * tokens only, the layers after the last attention on [CLS] only (see packTokens). The results are the
   * same; false keeps the padded graphs. The predict graph (and so the inference export) is never packed.
   */
  packing?: boolean;
  /** Also compile the K-step graph (`graphs.multistep`, see ArtifactManifest) (default false). */
  multiStep?: boolean;
  /** transformers' label_smoothing_factor for the classification loss (default 0; not for regression). */
  labelSmoothing?: number;
  /**
   * Mixed precision as torch.autocast (see MixedPrecisionInfo): 'fp16' with dynamic loss scaling, 'bf16'
   * without; absent: float32 throughout.
   */
  mixedPrecision?: 'fp16' | 'bf16';
  /** fp16's GradScaler settings (default torch's: 2^16, x2, x0.5, 2000 steps). */
  lossScaling?: Partial<LossScaling>;
}

export interface CompileReport {
  /** Parameters created by the compiler, as HF's "Some weights ... were newly initialized" warning. */
  newlyInitialized: string[];
  frozen: string[];
  trainableParameters: number;
  dropoutNodes: number;
  /** Token packing of the train graph: nodes on packed rows, and of those the ones on [CLS] alone. */
  packing: PackReport;
  /** The autocast pass on the train graph's forward, when compiled for mixed precision. */
  mixedPrecision?: MixedPrecisionReport;
  /** Human-readable notes (the newly-initialized warning among them). */
  messages: string[];
}

/** The compiled folder, with the initial weights still in memory so the runtime need not read them back. */
export interface CompileResult extends CompiledModel {
  report: CompileReport;
}

const LABELS: ValueInfo = { name: 'labels' };

/**
 * Compiles a BERT export or checkpoint into `<outDir>/<name>/`: train.onnx, gradient.onnx, optimizer.onnx,
 * eval.onnx, predict.onnx (multistep.onnx on request), weights.safetensors, config.json and manifest.json (see
 * {@link ArtifactManifest}). The folder is written atomically: it is either the previous one or complete.
 */
export function compileArtifacts(source: string, options: CompileOptions): CompileResult {
  const numLabels = options.numLabels ?? 2;
  if (!Number.isInteger(numLabels) || numLabels < 1)
    throw new Error(`numLabels must be a positive integer, got ${numLabels}`);
  const regression = numLabels === 1;
  const labelSmoothing = options.labelSmoothing ?? 0;
  if (!(labelSmoothing >= 0 && labelSmoothing < 1) || (regression && labelSmoothing > 0))
    throw new Error(
      `labelSmoothing must be in [0, 1) and 0 for regression (numLabels 1), got ${labelSmoothing}`,
    );
  const enc = importSource(source, options);
  const { config } = enc;
  const family = familyOf(config.modelType);
  const cls = attachClassifier(enc, numLabels, options.seed ?? 42);
  const dropout = dropoutRates(config, options.dropout);
  const optimizer: OptimizerInfo = {
    type: 'adamw',
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    weightDecay: 0,
    maxGradNorm: 1,
    ...options.optimizer,
  };

  const mixed = mixedPrecisionInfo(options);
  const lossScaling = mixed?.lossScaling;

  // Parameters leave the graph: every graph takes them as inputs, the runtime owns their values.
  const forward = cls.model;
  const weights = takeParameters(forward.graph);
  const frozen = (name: string) =>
    (options.freeze ?? []).some((f) => (typeof f === 'string' ? name.startsWith(f) : f.test(name)));
  const parameters: ParameterInfo[] = weights
    .map((t) => ({
      name: t.name,
      dataType: t.dataType as FloatType,
      shape: t.dims,
      trainable: !frozen(t.name),
      weightDecay: t.dims.length > 1,
      ...(enc.transposed.has(t.name) && { transposed: true }),
    }))
    .sort((a, b) => Number(b.trainable) - Number(a.trainable));
  const trainable = parameters.filter((p) => p.trainable).map((p) => p.name);
  if (trainable.length === 0) throw new Error('every parameter is frozen; nothing to train');
  const paramInputs: ValueInfo[] = parameters.map((p) => ({
    name: p.name,
    type: { dataType: p.dataType, shape: p.shape },
  }));
  // Moments and accumulators take their parameter's type.
  const stateType = (p: string) => {
    const info = parameters.find((x) => x.name === p)!;
    return { dataType: info.dataType, shape: info.shape };
  };
  const labelType: ValueInfo = {
    ...LABELS,
    type: { dataType: regression ? 'float32' : 'int64', shape: ['batch_size'] },
  };
  const batchInputs = enc.inputs.map((n) => forward.graph.inputs.find((v) => v.name === n)!);
  const scalarInput = (name: string): ValueInfo => ({ name, type: { dataType: 'float32', shape: [] } });

  const withLoss = (g: Graph): void => {
    const b = new GraphBuilder(g);
    b.addInput(labelType);
    if (regression) addMse(b, 'logits', 'labels');
    else addCrossEntropy(b, 'logits', 'labels', numLabels, labelSmoothing);
  };
  const fresh = (name: string): Model => {
    const m = cloneModel(forward);
    m.graph.name = name;
    m.graph.inputs = [...batchInputs, ...paramInputs];
    return m;
  };
  const pack = (g: Graph): PackReport =>
    (options.packing ?? true) ? packTokens(g) : { packed: 0, firstTokenOnly: 0 };
  const trainingForward = (name: string) => {
    const m = fresh(name);
    const sites = findDropoutSites(m.graph, cls.classifierInput, family.dropoutAt);
    const dropoutNodes = insertDropout(m.graph, sites, dropout);
    const packing = pack(m.graph);
    // Its masks are drawn after autodiff (seedDropout), from this input, declared before the loss's labels.
    if (dropoutNodes > 0) addDropoutSeed(m.graph);
    // Last, on the final forward (Dropout follows its operand into half; seedDropout casts its masks to match).
    const autocast = mixed && castToHalf(m.graph, mixed.dtype);
    withLoss(m.graph);
    return { model: m, dropoutNodes, packing, autocast };
  };

  // fp16: the loss is multiplied by the loss scale before differentiating (GradScaler.scale(loss)).
  const scaledLoss = (b: GraphBuilder, loss: string): string => {
    if (!lossScaling) return loss;
    b.addInput(scalarInput(LOSS_SCALE));
    return b.op1('Mul', [loss, LOSS_SCALE], {}, { name: '/loss/loss_scale' });
  };
  // Clipping + AdamW; with loss scaling also unscaling, the skip of an overflowing step and the scale update.
  const addOptimizer = (b: GraphBuilder, grad: (p: string) => string): string[] => {
    const params = optimizerParams(parameters, grad);
    if (!lossScaling) {
      addClipAndAdamW(b, params, optimizer, 'learning_rate', 'step');
      return [];
    }
    if (!b.graph.inputs.some((v) => v.name === LOSS_SCALE)) b.addInput(scalarInput(LOSS_SCALE));
    b.addInput(scalarInput(GROWTH_TRACKER));
    const { finite } = addClipAndAdamW(b, params, optimizer, 'learning_rate', 'step', { scale: LOSS_SCALE });
    const foundInf = addLossScaleUpdate(b, finite!, lossScaling);
    return [foundInf, `${LOSS_SCALE}.new`, `${GROWTH_TRACKER}.new`];
  };

  // predict: forward to logits, unpacked: it is the inference export, kept in the form exporters write.
  const predict = fresh('predict');
  // eval: forward, loss.
  const evalModel = fresh('eval');
  pack(evalModel.graph);
  if (mixed) castToHalf(evalModel.graph, mixed.dtype);
  withLoss(evalModel.graph);
  prune(evalModel.graph, ['logits', 'loss']);

  // train: forward with dropout, loss, gradients, clipping, AdamW.
  const train = trainingForward('train');
  {
    const g = train.model.graph;
    const loss = scaledLoss(new GraphBuilder(g), 'loss');
    const grads = buildGradients(g, { loss, wrt: trainable });
    // Seeded masks after packing (which moves Dropout as an element-wise op: the masks hash the packed
    // elements' indices) and after autodiff, whose Dropout rule reads the mask output seedDropout computes.
    seedDropout(g);
    const b = new GraphBuilder(g);
    for (const p of trainable) for (const m of momentInputs(p)) b.addInput({ name: m, type: stateType(p) });
    b.addInput(scalarInput('learning_rate'));
    b.addInput(scalarInput('step'));
    const scalerOutputs = addOptimizer(b, (p) => grads.get(p)!);
    prune(g, ['loss', 'grad_norm', ...scalerOutputs, ...trainable.flatMap(optimizerOutputs)]);
  }

  // gradient: forward with dropout, loss, gradients scaled by grad_scale and added to the accumulators.
  const gradient = trainingForward('gradient');
  {
    const g = gradient.model.graph;
    const b = new GraphBuilder(g);
    b.addInput(scalarInput('grad_scale'));
    const scaled = b.op1('Mul', [scaledLoss(b, 'loss'), 'grad_scale'], {}, { name: '/loss/grad_scale' });
    const grads = buildGradients(g, { loss: scaled, wrt: trainable });
    seedDropout(g);
    for (const p of trainable) {
      b.addInput({ name: `${p}.grad`, type: stateType(p) });
      b.op(
        'Add',
        [`${p}.grad`, grads.get(p)!],
        {},
        { name: b.fresh(`/accumulate/${p}`), outputs: [`${p}.grad.new`] },
      );
    }
    prune(g, ['loss', ...trainable.map((p) => `${p}.grad.new`)]);
  }

  // optimizer: clipping + AdamW from the accumulated gradients.
  const opt: Model = { ...forward, graph: emptyGraph('optimizer') };
  {
    const b = new GraphBuilder(opt.graph);
    for (const p of trainable) {
      const type = stateType(p);
      b.addInput({ name: p, type });
      b.addInput({ name: `${p}.grad`, type });
      for (const m of momentInputs(p)) b.addInput({ name: m, type });
    }
    b.addInput(scalarInput('learning_rate'));
    b.addInput(scalarInput('step'));
    const scalerOutputs = addOptimizer(b, (p) => `${p}.grad`);
    prune(opt.graph, ['grad_norm', ...scalerOutputs, ...trainable.flatMap(optimizerOutputs)]);
  }

  // Differentiated: the loss's LogSoftmax can become ops that WebGPU has kernels for.
  for (const m of [train.model, gradient.model, evalModel]) expandLogSoftmax(m);

  const graphs: Partial<Record<GraphKind, Model>> = {
    train: train.model,
    gradient: gradient.model,
    optimizer: opt,
    eval: evalModel,
    predict,
  };
  const stateNames: [string, StateRole, string][] = [
    ...parameters.map((p): [string, StateRole, string] => [p.name, 'parameter', p.name]),
    ...trainable.flatMap((p) => momentInputs(p).map((m): [string, StateRole, string] => [m, 'moment', p])),
    ...trainable.map((p): [string, StateRole, string] => [`${p}.grad`, 'gradient', p]),
  ];
  const scalarState = { dataType: 'float32' as const, shape: [] };
  const entries = () => [
    ...stateNames.map(([name, role, p]) => stateEntry(name, role, stateType(p), graphs)),
    ...(lossScaling
      ? [
          { ...stateEntry(LOSS_SCALE, 'loss-scale', scalarState, graphs), initial: lossScaling.initScale },
          stateEntry(GROWTH_TRACKER, 'growth-tracker', scalarState, graphs),
        ]
      : []),
  ];
  if (options.multiStep) {
    const written = entries().filter((e) => e.writtenBy.includes('train'));
    const perStep = [...enc.inputs, 'labels', 'learning_rate', 'step', DROPOUT_SEED].filter((n) =>
      train.model.graph.inputs.some((i) => i.name === n),
    );
    graphs.multistep = buildMultiStepModel(
      train.model,
      perStep,
      new Map(written.map((e) => [e.name, e.update])),
      lossScaling && { flag: 'found_inf', indexed: ['learning_rate', 'step'] },
    );
  }
  const state = entries();

  const files: Record<string, FileContent> = {};
  const io: Partial<Record<GraphKind, GraphIO>> = {};
  for (const [key, model] of Object.entries(graphs) as [GraphKind, Model][]) {
    const file = `${key}.onnx`;
    files[file] = (path) => saveModel(model, path);
    io[key] = {
      file,
      inputs: model.graph.inputs.map((v) => v.name),
      outputs: model.graph.outputs.map((v) => v.name),
    };
  }
  const order = new Map(weights.map((t) => [t.name, t]));
  const initial = parameters.map((p) => order.get(p.name)!);
  files['weights.safetensors'] = (path) => writeSafetensors(path, initial, { format: 'pt' });
  files['config.json'] =
    `${JSON.stringify(hfConfig(config, family.className, numLabels, options.labelNames), null, 2)}\n`;

  const manifest: ArtifactManifest = {
    format: 'ortrain-artifacts',
    version: MANIFEST_VERSION,
    name: options.name,
    model: {
      architecture: family.modelType,
      numLabels,
      problemType: regression ? 'regression' : 'single_label_classification',
      hiddenSize: config.hiddenSize,
      numHiddenLayers: config.numHiddenLayers,
      numAttentionHeads: config.numAttentionHeads,
      intermediateSize: config.intermediateSize,
      vocabSize: config.vocabSize,
      maxPositionEmbeddings: config.maxPositionEmbeddings,
      source: enc.source,
    },
    inputs: enc.inputs,
    labels: { name: 'labels', dataType: regression ? 'float32' : 'int64' },
    ...(labelSmoothing > 0 && { labelSmoothing }),
    parameters,
    state,
    weights: 'weights.safetensors',
    optimizer,
    dropout,
    ...(mixed && { mixedPrecision: mixed }),
    newlyInitialized: cls.newlyInitialized,
    graphs: io as ArtifactManifest['graphs'],
  };
  files['manifest.json'] = `${JSON.stringify(manifest, null, 2)}\n`;
  const dir = join(options.outDir ?? 'artifacts', options.name);
  writeDirAtomic(dir, files);

  const messages: string[] = [];
  if (enc.unusedWeights && enc.unusedWeights.length > 0) {
    messages.push(
      `Some weights of the model checkpoint at ${source} were not used when initializing ${family.className}: [${enc.unusedWeights.join(', ')}]`,
    );
  }
  if (cls.newlyInitialized.length > 0) {
    messages.push(
      `Some weights of ${family.className} were not initialized from the model checkpoint at ${source} and are newly initialized: [${cls.newlyInitialized.join(', ')}]. You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.`,
    );
  }
  return {
    dir,
    manifest,
    weights: order,
    report: {
      newlyInitialized: cls.newlyInitialized,
      frozen: parameters.filter((p) => !p.trainable).map((p) => p.name),
      trainableParameters: parameters.filter((p) => p.trainable).reduce((s, p) => s + numel(p.shape), 0),
      dropoutNodes: train.dropoutNodes,
      packing: train.packing,
      ...(train.autocast && { mixedPrecision: train.autocast }),
      messages,
    },
  };
}

/**
 * A copy of the model's structure that later rewrites can change, sharing the (never mutated) tensors:
 * structuredClone would copy whole file buffers that small constants are views into.
 */
function cloneModel(m: Model): Model {
  const g = m.graph;
  return {
    ...m,
    opsets: new Map(m.opsets),
    graph: {
      ...g,
      nodes: g.nodes.map((n) => ({
        ...n,
        inputs: [...n.inputs],
        outputs: [...n.outputs],
        attributes: { ...n.attributes },
      })),
      inputs: [...g.inputs],
      outputs: [...g.outputs],
      initializers: new Map(g.initializers),
      valueInfo: new Map(g.valueInfo),
    },
  };
}

function mixedPrecisionInfo(options: CompileOptions): MixedPrecisionInfo | undefined {
  const mode = options.mixedPrecision;
  if (mode === undefined) return undefined;
  if (mode === 'bf16') return { dtype: 'bfloat16' };
  if (mode !== 'fp16') throw new Error(`mixedPrecision must be 'fp16' or 'bf16', got '${mode}'`);
  const ls: LossScaling = { ...DEFAULT_LOSS_SCALING, ...options.lossScaling };
  const positive = ls.initScale > 0 && ls.growthFactor > 1 && ls.backoffFactor > 0 && ls.backoffFactor < 1;
  if (!positive || !Number.isInteger(ls.growthInterval) || ls.growthInterval < 1) {
    throw new Error(
      `lossScaling needs initScale > 0, growthFactor > 1, 0 < backoffFactor < 1 and a positive integer growthInterval; got ${JSON.stringify(ls)}`,
    );
  }
  return { dtype: 'float16', lossScaling: ls };
}

function dropoutRates(config: BertConfig, overrides: Partial<DropoutInfo> = {}): DropoutInfo {
  const rates: DropoutInfo = {
    hidden: config.hiddenDropoutProb,
    attention: config.attentionProbsDropoutProb,
    classifier: config.classifierDropout ?? config.hiddenDropoutProb,
    ...overrides,
  };
  for (const [k, v] of Object.entries(rates)) {
    if (!(v >= 0 && v < 1)) throw new Error(`dropout.${k} must be in [0, 1), got ${v}`);
  }
  return rates;
}

/** Removes the float parameters (rank >= 1 float initializers) from `g`; returns them in order of first use. */
function takeParameters(g: Graph): Tensor[] {
  const out: Tensor[] = [];
  for (const n of g.nodes) {
    for (const name of n.inputs) {
      const t = g.initializers.get(name);
      if (t === undefined || t.dataType !== 'float32' || t.dims.length === 0) continue;
      out.push(t);
      g.initializers.delete(name);
    }
  }
  return out;
}

/** A state entry, with the graphs that read it and write it (as `<name>.new`) found in their inputs and outputs. */
function stateEntry(
  name: string,
  role: StateRole,
  type: { dataType: FloatType; shape: number[] },
  graphs: Partial<Record<GraphKind, Model>>,
): StateEntry {
  const update = `${name}.new`;
  const kinds = Object.entries(graphs) as [GraphKind, Model][];
  return {
    name,
    role,
    ...type,
    readBy: kinds.filter(([, m]) => m.graph.inputs.some((v) => v.name === name)).map(([k]) => k),
    writtenBy: kinds.filter(([, m]) => m.graph.outputs.some((v) => v.name === update)).map(([k]) => k),
    update,
  };
}

function optimizerParams(parameters: ParameterInfo[], grad: (p: string) => string) {
  return parameters
    .filter((p) => p.trainable)
    .map((p) => ({ name: p.name, grad: grad(p.name), weightDecay: p.weightDecay }));
}

/** config.json for the inference export: the source config plus the classification fields HF writes. */
function hfConfig(
  config: BertConfig,
  className: string,
  numLabels: number,
  labelNames?: string[],
): Record<string, unknown> {
  const names = labelNames ?? Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
  if (names.length !== numLabels)
    throw new Error(`labelNames has ${names.length} names for ${numLabels} labels`);
  return {
    ...config.raw,
    model_type: config.modelType,
    architectures: [className],
    id2label: Object.fromEntries(names.map((n, i) => [String(i), n])),
    label2id: Object.fromEntries(names.map((n, i) => [n, i])),
    problem_type: numLabels === 1 ? 'regression' : 'single_label_classification',
  };
}
