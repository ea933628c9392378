import type { GraphBuilder } from '@ortrain/graph';
import type { BertConfig } from '../config.js';
import { addLinear, firstToken } from '../head/head.js';
import type { CheckpointGraph } from '../hf/checkpoint.js';
import { ACTIVATIONS } from './bert.js';
import { checkedConfig, configFields, type ModelFamily } from './family.js';

/** DistilBertConfig's defaults (distilbert-base geometry). */
const DEFAULTS = {
  vocab_size: 30522,
  max_position_embeddings: 512,
  sinusoidal_pos_embds: false,
  n_layers: 6,
  n_heads: 12,
  dim: 768,
  hidden_dim: 3072,
  dropout: 0.1,
  attention_dropout: 0.1,
  activation: 'gelu',
  initializer_range: 0.02,
  seq_classif_dropout: 0.2,
  pad_token_id: 0,
};

/** DistilBertConfig under its own field names (dim, n_layers, n_heads, hidden_dim, activation, dropout). */
function parseConfig(raw: Record<string, unknown>, where: string): BertConfig {
  const { merged, num, oneOf } = configFields(raw, DEFAULTS, where);
  if (merged['sinusoidal_pos_embds'] === true)
    throw new Error(
      `${where}: sinusoidal_pos_embds true is not supported (expected learned position embeddings)`,
    );
  const act = oneOf('activation', ACTIVATIONS);
  return checkedConfig(
    {
      modelType: 'distilbert',
      vocabSize: num('vocab_size'),
      hiddenSize: num('dim'),
      embeddingSize: num('dim'),
      numHiddenLayers: num('n_layers'),
      numAttentionHeads: num('n_heads'),
      intermediateSize: num('hidden_dim'),
      maxPositionEmbeddings: num('max_position_embeddings'),
      typeVocabSize: 0,
      layerNormEps: 1e-12, // hard-coded in modeling_distilbert.py
      initializerRange: num('initializer_range'),
      hiddenDropoutProb: num('dropout'),
      attentionProbsDropoutProb: num('attention_dropout'),
      classifierDropout: num('seq_classif_dropout'),
      hiddenAct: act === 'gelu_pytorch_tanh' ? 'gelu_new' : act,
      padTokenId: num('pad_token_id'),
      raw,
    },
    where,
  );
}

/** DistilBertModel: word + position embeddings (no token types), LayerNorm, TransformerBlocks that scale the
 * queries before the product and mask by the dtype minimum. */
function buildEncoder(ck: CheckpointGraph): string {
  const cfg = ck.config;
  let h = ck.embeddings('distilbert.embeddings'); // no token types (typeVocabSize 0)
  const mask = ck.extendedMask();
  for (let i = 0; i < cfg.numHiddenLayers; i++) {
    const l = `distilbert.transformer.layer.${i}`;
    const names = {
      query: `${l}.attention.q_lin`,
      key: `${l}.attention.k_lin`,
      value: `${l}.attention.v_lin`,
      attentionOutput: `${l}.attention.out_lin`,
      attentionNorm: `${l}.sa_layer_norm`,
      intermediate: `${l}.ffn.lin1`,
      output: `${l}.ffn.lin2`,
      outputNorm: `${l}.output_layer_norm`,
    };
    h = ck.layer(h, names, mask, true);
  }
  return h;
}

/** DistilBertForSequenceClassification: hidden_state[:, 0] -> pre_classifier -> ReLU -> dropout -> classifier. */
function addHead(b: GraphBuilder, sequenceOutput: string, logits: string): string {
  const pooled = b.op1('Relu', [addLinear(b, firstToken(b, sequenceOutput), 'pre_classifier')]);
  addLinear(b, pooled, 'classifier', logits);
  return pooled;
}

export const distilbert: ModelFamily = {
  modelType: 'distilbert',
  className: 'DistilBertForSequenceClassification',
  basePrefix: 'distilbert',
  bodyModules: ['embeddings', 'transformer'],
  inputs: ['input_ids', 'attention_mask'],
  parseConfig,
  buildEncoder,
  addHead,
  headParameters: (cfg, numLabels) => [
    ['pre_classifier.weight', [cfg.hiddenSize, cfg.hiddenSize]],
    ['pre_classifier.bias', [cfg.hiddenSize]],
    ['classifier.weight', [numLabels, cfg.hiddenSize]],
    ['classifier.bias', [numLabels]],
  ],
  dropoutAt: { attention: false, feedForward: true },
};
