import type { GraphBuilder } from '@ortrain/graph';
import type { BertConfig } from '../config.js';
import type { CheckpointGraph } from '../hf/checkpoint.js';

/**
 * One model family (config.json's `model_type`): everything that differs between BERT, DistilBERT, ... lives
 * behind this seam, so a family is one module.
 */
export interface ModelFamily {
  /** config.json's model_type. */
  modelType: string;
  /** HF's sequence-classification class (config.json's architectures, HF's warnings). */
  className: string;
  /** The base model's attribute in the classification model: parameter names start with `<basePrefix>.`. */
  basePrefix: string;
  /** The base model's top-level modules, as exports of the bare base model name them (without the prefix). */
  bodyModules: readonly string[];
  /** Batch inputs the model takes, in feed order. */
  inputs: readonly string[];
  /** config.json's fields (with the family's defaults and names) in the common form. */
  parseConfig(raw: Record<string, unknown>, where: string): BertConfig;
  /**
   * The forward graph from a checkpoint's weights, as HF's modeling code computes it, up to the sequence
   * output; returns its value. Pretraining heads are left unread.
   */
  buildEncoder(ck: CheckpointGraph): string;
  /**
   * The sequence-classification head on the sequence output [batch, seq, hidden]: reads the parameters named
   * in `headParameters` (the checkpoint's or newly initialized ones) and computes `logits`. Returns the
   * classifier's input, where HF's classifier dropout goes.
   */
  addHead(b: GraphBuilder, sequenceOutput: string, logits: string): string;
  /** The head's parameters, [name, shape] for `numLabels`, initialized like HF when the source lacks them. */
  headParameters(config: BertConfig, numLabels: number): [string, number[]][];
  /** Where HF applies dropout beyond BERT's common sites: the hidden dropout before each residual Add (the
   * attention output: not in DistilBERT; the feed-forward output: not in ALBERT), the head's dense input. */
  dropoutAt: DropoutPlaces;
  /** Position ids below this are never used (RoBERTa counts from padding_idx + 1); default 0. */
  firstPositionId?(config: BertConfig): number;
  /** One set of layer parameters read by several layers (ALBERT): an export's folded copies of a shared
   * weight stay one parameter. */
  sharedLayers?: boolean;
}

export interface DropoutPlaces {
  attention: boolean;
  feedForward: boolean;
  /** The head drops out its dense layer's input too (RoBERTa's and ELECTRA's classification heads). */
  headDense?: boolean;
}

/** Reads a config.json object over a family's defaults: `num(key)` insists on a finite number. */
export function configFields(raw: Record<string, unknown>, defaults: Record<string, unknown>, where: string) {
  const merged: Record<string, unknown> = { ...defaults, ...raw };
  const num = (key: string): number => {
    const v = merged[key];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new Error(`${where}: '${key}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T => {
    const v = merged[key];
    if (!allowed.includes(v as T))
      throw new Error(
        `${where}: ${key} '${String(v)}' is not supported (expected ${allowed.map((a) => `'${a}'`).join(', ')})`,
      );
    return v as T;
  };
  return { merged, num, oneOf };
}

/** A checked config: hidden size divisible by the heads. */
export function checkedConfig(config: BertConfig, where: string): BertConfig {
  if (config.hiddenSize % config.numAttentionHeads !== 0) {
    throw new Error(
      `${where}: hidden_size ${config.hiddenSize} is not a multiple of num_attention_heads ${config.numAttentionHeads}`,
    );
  }
  return config;
}

/** The longest sequence the position embeddings hold: max_position_embeddings less the ids the family skips
 * (RoBERTa's 514 give 512). */
export function maxSequenceLength(config: BertConfig, family: ModelFamily): number {
  return config.maxPositionEmbeddings - (family.firstPositionId?.(config) ?? 0);
}
