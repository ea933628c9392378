import { existsSync, readFileSync } from 'node:fs';
import { familyOf } from './family/registry.js';

/** config.json of a BERT as transformers writes it; `parseBertConfig` reads it (missing fields default). */
export interface BertConfigJson {
  architectures: string[];
  model_type: 'bert';
  attention_probs_dropout_prob: number;
  hidden_act: 'gelu';
  hidden_dropout_prob: number;
  hidden_size: number;
  initializer_range: number;
  intermediate_size: number;
  layer_norm_eps: number;
  max_position_embeddings: number;
  num_attention_heads: number;
  num_hidden_layers: number;
  pad_token_id: number;
  position_embedding_type: 'absolute';
  type_vocab_size: number;
  vocab_size: number;
}

/** The fields of Hugging Face's model configs (config.json) that the compiler uses, under BertConfig's names
 * (each family maps its own: DistilBERT's `dim` is hiddenSize, ...). */
export interface BertConfig {
  /** config.json's model_type: the family (see `familyOf`). */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  /** Width of the embeddings (ELECTRA's and ALBERT's embedding_size), projected to hiddenSize when it differs. */
  embeddingSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  initializerRange: number;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  /** HF's classifier_dropout; null means hidden_dropout_prob. */
  classifierDropout: number | null;
  /** The feed-forward activation: gelu (erf), gelu_new (tanh approximation) or relu. */
  hiddenAct: 'gelu' | 'gelu_new' | 'relu';
  padTokenId: number;
  /** The file's own JSON, kept so that the inference export carries every original field. */
  raw: Record<string, unknown>;
}

/**
 * A config.json in the common form, whatever its family (`model_type`, default `bert`): the family reads its
 * own field names and defaults (see `src/family/`).
 */
export function parseBertConfig(raw: Record<string, unknown>, where: string): BertConfig {
  const modelType = raw['model_type'] ?? 'bert';
  return familyOf(String(modelType), where).parseConfig(raw, where);
}

export function readBertConfig(path: string): BertConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: cannot read config.json (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error(`${path}: expected a JSON object`);
  return parseBertConfig(raw as Record<string, unknown>, path);
}

/** config.json when present, else undefined. */
export function readBertConfigIfPresent(path: string): BertConfig | undefined {
  return existsSync(path) ? readBertConfig(path) : undefined;
}
