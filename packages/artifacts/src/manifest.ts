/**
 * manifest.json: the contract between the artifact compiler and the training runtime. Every graph's inputs and
 * outputs are named here, so the runtime never guesses.
 *
 * Naming, for a parameter `p` (HF name when known, e.g. `bert.encoder.layer.0.attention.self.query.weight`):
 * - moments: `p.exp_avg`, `p.exp_avg_sq` (torch AdamW state names); accumulated gradient: `p.grad`;
 * - a graph output that replaces an input is named `<input>.new` (e.g. `p.new`, `p.exp_avg.new`, `p.grad.new`).
 * Batch inputs are int64 [batch, sequence]; `labels` is int64 [batch] (float32 [batch] for regression).
 * Scalars fed per run: `learning_rate` (float32), `step` (float32, the 1-based optimizer step, for bias
 * correction), `grad_scale` (float32, 1 / gradient_accumulation_steps: the gradient graph scales the loss by it
 * before differentiating, so the accumulators hold the mean gradient that the optimizer graph clips).
 */
export interface ArtifactManifest {
  format: 'ortrain-artifacts';
  version: 1;
  name: string;
  model: ModelInfo;
  /** Batch inputs the graphs take, in feed order (e.g. input_ids, attention_mask, token_type_ids). */
  inputs: string[];
  labels: { name: 'labels'; dataType: 'int64' | 'float32' };
  /** transformers' label_smoothing_factor baked into the loss of the train, gradient and eval graphs; absent: 0. */
  labelSmoothing?: number;
  /** Every parameter in feed order: trainable ones first, then frozen ones. */
  parameters: ParameterInfo[];
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
  };
}

export interface ModelInfo {
  architecture: 'bert';
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
  dataType: 'float32';
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
