import type { GraphBuilder } from '@ortrain/graph';
import type { BertConfig } from '../config.js';
import { addLinear, addPooler } from '../head/head.js';
import type { CheckpointGraph, LayerNames } from '../hf/checkpoint.js';
import { checkedConfig, configFields, type ModelFamily } from './family.js';

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
  position_embedding_type: 'absolute',
};

/** The activations HF's ACT2FN maps these names to, that the graphs compute (tanh GELU as gelu_new does). */
export const ACTIVATIONS = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'] as const;

/** Reads BertConfig-style fields (BERT, RoBERTa, XLM-R, ELECTRA share them) over `defaults`. */
export function parseBertStyleConfig(
  raw: Record<string, unknown>,
  where: string,
  modelType: string,
  defaults: Record<string, unknown> = DEFAULTS,
): BertConfig {
  const { merged, num, oneOf } = configFields(raw, { ...DEFAULTS, ...defaults }, where);
  oneOf('position_embedding_type', ['absolute']);
  const act = oneOf('hidden_act', ACTIVATIONS);
  const cd = merged['classifier_dropout'];
  return checkedConfig(
    {
      modelType,
      vocabSize: num('vocab_size'),
      hiddenSize: num('hidden_size'),
      embeddingSize: num(merged['embedding_size'] === undefined ? 'hidden_size' : 'embedding_size'),
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
      hiddenAct: act === 'gelu_pytorch_tanh' ? 'gelu_new' : act,
      padTokenId: num('pad_token_id'),
      raw,
    },
    where,
  );
}

/** BERT's layer module names under `<prefix>.encoder.layer.<i>`. */
export function bertLayerNames(l: string): LayerNames {
  return {
    query: `${l}.attention.self.query`,
    key: `${l}.attention.self.key`,
    value: `${l}.attention.self.value`,
    attentionOutput: `${l}.attention.output.dense`,
    attentionNorm: `${l}.attention.output.LayerNorm`,
    intermediate: `${l}.intermediate.dense`,
    output: `${l}.output.dense`,
    outputNorm: `${l}.output.LayerNorm`,
  };
}

/** HF's BertModel up to the sequence output: word + token type + position embeddings, LayerNorm, layers. */
function buildEncoder(ck: CheckpointGraph): string {
  const cfg = ck.config;
  let h = ck.embeddings('bert.embeddings');
  const mask = ck.extendedMask();
  for (let i = 0; i < cfg.numHiddenLayers; i++)
    h = ck.layer(h, bertLayerNames(`bert.encoder.layer.${i}`), mask);
  return h;
}

/** BertForSequenceClassification's head: BertPooler (dense + tanh on [CLS]), dropout, classifier. */
function addHead(b: GraphBuilder, sequenceOutput: string, logits: string): string {
  const pooled = addPooler(b, sequenceOutput);
  addLinear(b, pooled, 'classifier', logits);
  return pooled;
}

export const bert: ModelFamily = {
  modelType: 'bert',
  className: 'BertForSequenceClassification',
  basePrefix: 'bert',
  bodyModules: ['embeddings', 'encoder', 'pooler'],
  inputs: ['input_ids', 'attention_mask', 'token_type_ids'],
  parseConfig: (raw, where) => parseBertStyleConfig(raw, where, 'bert'),
  buildEncoder,
  addHead,
  headParameters: (cfg, numLabels) => [
    ['bert.pooler.dense.weight', [cfg.hiddenSize, cfg.hiddenSize]],
    ['bert.pooler.dense.bias', [cfg.hiddenSize]],
    ['classifier.weight', [numLabels, cfg.hiddenSize]],
    ['classifier.bias', [numLabels]],
  ],
  dropoutAt: { attention: true, feedForward: true },
};
