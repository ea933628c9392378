import type { Model, Tensor } from '@ortrain/graph';
import type { BertConfig } from '../config.js';

/**
 * Where the classification head goes: on the sequence output (pooler + classifier are added), on the pooled
 * output (classifier added), or on existing logits (nothing added).
 */
export interface AttachPoint {
  /** 'pooled' is BERT's pooler_output; the other families' heads read the sequence output. */
  kind: 'sequence' | 'pooled' | 'logits';
  /** The value in the graph. */
  value: string;
  /** For 'logits': the classifier's input, where HF applies the classifier dropout. */
  classifierInput?: string;
  /** For 'logits': the number of labels the export's classifier has. */
  numLabels?: number;
}

/**
 * A forward graph (of any supported family) in the one form the rest of the compiler works on, whatever it came from: default-domain
 * ops at opset 17, LayerNorms as LayerNormalization, graph outputs = [attach.value], parameters = the float
 * initializers under HF's BertForSequenceClassification names (`bert.embeddings.word_embeddings.weight`, ...).
 * Linear weights read by MatMul are stored [in, out] (the transpose of HF's [out, in]) and listed in
 * `transposed`, so the graph needs no Transpose op.
 */
export interface ImportedEncoder {
  model: Model;
  inputs: string[];
  attach: AttachPoint;
  transposed: Set<string>;
  config: BertConfig;
  /** The value the head attaches to (e.g. `last_hidden_state`), recorded as the manifest's model.source. */
  source: string;
  /** A checkpoint's head parameters (the family's `headParameters` it holds), used instead of new ones. */
  headWeights?: ReadonlyMap<string, Tensor>;
  /** Checkpoint tensors the model does not use (e.g. pretraining heads), as HF's "were not used" warning. */
  unusedWeights?: string[];
}
