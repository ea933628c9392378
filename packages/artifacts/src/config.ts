import { existsSync, readFileSync } from 'node:fs';

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

/** The fields of Hugging Face's BertConfig (config.json) that the compiler uses, parsed. */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
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
  hiddenAct: string;
  padTokenId: number;
  /** The file's own JSON, kept so that the inference export carries every original field. */
  raw: Record<string, unknown>;
}

/** BertConfig's defaults (bert-base geometry), used for fields config.json leaves out. */
const DEFAULTS = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  initializer_range: 0.02,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  hidden_act: 'gelu',
  pad_token_id: 0,
};

export function parseBertConfig(raw: Record<string, unknown>, where: string): BertConfig {
  const merged: Record<string, unknown> = { ...DEFAULTS, ...raw };
  const num = (key: string): number => {
    const v = merged[key];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new Error(`${where}: '${key}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const modelType = raw['model_type'];
  if (modelType !== undefined && modelType !== 'bert') {
    throw new Error(`${where}: model_type '${String(modelType)}' is not supported (expected 'bert')`);
  }
  const act = merged['hidden_act'];
  if (act !== 'gelu')
    throw new Error(`${where}: hidden_act '${String(act)}' is not supported (expected 'gelu')`);
  const pet = merged['position_embedding_type'];
  if (pet !== undefined && pet !== 'absolute') {
    throw new Error(
      `${where}: position_embedding_type '${String(pet)}' is not supported (expected 'absolute')`,
    );
  }
  const cd = merged['classifier_dropout'];
  const config: BertConfig = {
    vocabSize: num('vocab_size'),
    hiddenSize: num('hidden_size'),
    numHiddenLayers: num('num_hidden_layers'),
    numAttentionHeads: num('num_attention_heads'),
    intermediateSize: num('intermediate_size'),
    maxPositionEmbeddings: num('max_position_embeddings'),
    typeVocabSize: num('type_vocab_size'),
    layerNormEps: num('layer_norm_eps'),
    initializerRange: num('initializer_range'),
    hiddenDropoutProb: num('hidden_dropout_prob'),
    attentionProbsDropoutProb: num('attention_probs_dropout_prob'),
    classifierDropout: typeof cd === 'number' ? cd : null,
    hiddenAct: 'gelu',
    padTokenId: num('pad_token_id'),
    raw,
  };
  if (config.hiddenSize % config.numAttentionHeads !== 0) {
    throw new Error(
      `${where}: hidden_size ${config.hiddenSize} is not a multiple of num_attention_heads ${config.numAttentionHeads}`,
    );
  }
  return config;
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
