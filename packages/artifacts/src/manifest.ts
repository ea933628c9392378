/**
 * manifest.json: the contract between the artifact compiler and the training runtime. Every graph's inputs and
 * outputs are named here, so the runtime never guesses.
 *
 * Everything a graph reads and rewrites across runs is listed in `state` with its shape, element type, role and
 * the graphs that read and write it, so the runtime allocates and binds state from the manifest alone. The
 * compiler names it (for a parameter `p`, HF name when known): moments `p.exp_avg`, `p.exp_avg_sq` (torch
 * AdamW state names), accumulated gradient `p.grad`; a graph writes an entry's new value to `update`.
 * Batch inputs are int64 [batch, sequence]; `labels` is int64 [batch] (float32 [batch] for regression).
 * Scalars fed per run: `learning_rate` (float32), `step` (float32, the 1-based optimizer step, for bias
 * correction), `grad_scale` (float32, 1 / gradient_accumulation_steps: the gradient graph scales the loss by it
 * before differentiating, so the accumulators hold the mean gradient that the optimizer graph clips),
 * `dropout_seed` (int64, train and gradient graphs with dropout only: the masks are a function of it alone).
 */
export interface ArtifactManifest {
  format: 'ortrain-artifacts';
  version: typeof MANIFEST_VERSION;
  name: string;
  model: ModelInfo;
  /** Batch inputs the graphs take, in feed order (e.g. input_ids, attention_mask, token_type_ids). */
  inputs: string[];
  labels: { name: 'labels'; dataType: 'int64' | 'float32' };
  /** transformers' label_smoothing_factor baked into the loss of the train, gradient and eval graphs; absent: 0. */
  labelSmoothing?: number;
  /** Every parameter in feed order: trainable ones first, then frozen ones. */
  parameters: ParameterInfo[];
  /** What the graphs keep across runs: parameters (in `parameters` order), then optimizer moments, then
   * gradient accumulators. */
  state: StateEntry[];
  /** Initial weights, a safetensors file next to the manifest, keyed by parameter name. */
  weights: string;
  optimizer: OptimizerInfo;
  dropout: DropoutInfo;
  /** Parameters that the compiler created (classification head, pooler), as HF warns "newly initialized". */
  newlyInitialized: string[];
  graphs: {
    /** forward + loss + gradients + clipping + AdamW in one run. */
    train: GraphIO;
    /** forward + loss + gradients added into `p.grad` accumulators (gradient accumulation). */
    gradient: GraphIO;
    /** clipping + AdamW from accumulated `p.grad`. */
    optimizer: GraphIO;
    /** forward to `logits` and `loss` (takes `labels`), no dropout. */
    eval: GraphIO;
    /** forward to `logits` only (no `labels`: ONNX Runtime needs every graph input fed), no dropout. */
    predict: GraphIO;
    /**
     * K train steps in one run (compiled on request, `multiStep`): an ONNX Loop over the train graph with the
     * same input and output names; batch inputs, `labels`, `learning_rate`, `step` and `dropout_seed` stacked
     * along a first axis of K, `loss` and `grad_norm` returned as [K].
     */
    multistep?: GraphIO;
  };
}

export const MANIFEST_VERSION = 2;

export type GraphKind = keyof ArtifactManifest['graphs'];

/** ONNX float element types state can hold (float16 and bfloat16 stored as raw 16-bit patterns). */
export type FloatType = 'float32' | 'float16' | 'bfloat16' | 'float64';

/**
 * What a state entry is to the runtime: `parameter` (initial values from the weights file, exported),
 * `moment` (optimizer state, checkpointed, starts at zero), `gradient` (accumulator, starts at zero and is
 * zeroed after a graph that reads it without writing it: the optimizer step has consumed it).
 */
export type StateRole = 'parameter' | 'moment' | 'gradient';

export interface StateEntry {
  name: string;
  role: StateRole;
  dataType: FloatType;
  shape: number[];
  /** Graphs that take the entry as an input. */
  readBy: GraphKind[];
  /** Graphs that return its new value, as the output named `update`. */
  writtenBy: GraphKind[];
  update: string;
}

export interface ModelInfo {
  /** The model family, config.json's model_type (`bert`, `distilbert`, ...). */
  architecture: string;
  numLabels: number;
  problemType: 'single_label_classification' | 'regression';
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  /** The export's original output the head was attached to (e.g. `last_hidden_state`, `logits`). */
  source: string;
}

export interface ParameterInfo {
  name: string;
  dataType: FloatType;
  shape: number[];
  trainable: boolean;
  /** Decoupled weight decay applies (false for biases and LayerNorm weights: 1-D parameters). */
  weightDecay: boolean;
  /**
   * Stored [in, out], the transpose of HF's Linear weight [out, in] (as constant-folded exports hold it, so the
   * graphs need no Transpose); absent when the layout is HF's.
   */
  transposed?: boolean;
}

export interface OptimizerInfo {
  type: 'adamw';
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** Global-norm clipping threshold; 0 or less disables clipping. */
  maxGradNorm: number;
}

export interface DropoutInfo {
  hidden: number;
  attention: number;
  classifier: number;
}

export interface GraphIO {
  /** ONNX file next to the manifest. */
  file: string;
  inputs: string[];
  outputs: string[];
}
