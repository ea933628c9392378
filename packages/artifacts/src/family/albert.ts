import type { GraphBuilder } from '@ortrain/graph';
import { addLinear, addPooler } from '../head/head.js';
import type { CheckpointGraph } from '../hf/checkpoint.js';
import { parseBertStyleConfig } from './bert.js';
import type { ModelFamily } from './family.js';

/** AlbertConfig's defaults where they differ from BertConfig's (albert-xxlarge geometry, as HF's class). */
const DEFAULTS = {
  vocab_size: 30000,
  embedding_size: 128,
  hidden_size: 4096,
  num_attention_heads: 64,
  intermediate_size: 16384,
  hidden_act: 'gelu_new',
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
  classifier_dropout_prob: 0.1,
  num_hidden_groups: 1,
  inner_group_num: 1,
};

/** The group and inner-layer counts (albert-base-v2: one group of one layer, shared by all layers). */
function groups(raw: Record<string, unknown>): { groups: number; inner: number } {
  const merged = { ...DEFAULTS, ...raw };
  return { groups: Number(merged.num_hidden_groups), inner: Number(merged.inner_group_num) };
}

/**
 * AlbertModel: BERT's embeddings at embedding_size, embedding_hidden_mapping_in (Linear to hidden_size), then
 * num_hidden_layers applications of the layer groups (layer i runs group floor(i / (layers / groups))): one
 * set of parameters read by every layer, so the gradient sums over the layers.
 */
function buildEncoder(ck: CheckpointGraph): string {
  const cfg = ck.config;
  const E = cfg.embeddingSize;
  const embedded = ck.embeddings('albert.embeddings', { size: E });
  let h = ck.linear(embedded, 'albert.encoder.embedding_hidden_mapping_in', E, cfg.hiddenSize);
  const mask = ck.extendedMask();
  const { groups: G, inner } = groups(cfg.raw);
  for (let i = 0; i < cfg.numHiddenLayers; i++) {
    const group = Math.floor(i / (cfg.numHiddenLayers / G));
    for (let j = 0; j < inner; j++) {
      const l = `albert.encoder.albert_layer_groups.${group}.albert_layers.${j}`;
      const names = {
        query: `${l}.attention.query`,
        key: `${l}.attention.key`,
        value: `${l}.attention.value`,
        attentionOutput: `${l}.attention.dense`,
        attentionNorm: `${l}.attention.LayerNorm`,
        intermediate: `${l}.ffn`,
        output: `${l}.ffn_output`,
        outputNorm: `${l}.full_layer_layer_norm`,
      };
      h = ck.layer(h, names, mask);
    }
  }
  return h;
}

/** AlbertForSequenceClassification: pooler (dense + tanh on [CLS], named `albert.pooler`), dropout, classifier. */
function addHead(b: GraphBuilder, sequenceOutput: string, logits: string): string {
  const pooled = addPooler(b, sequenceOutput, 'albert.pooler');
  addLinear(b, pooled, 'classifier', logits);
  return pooled;
}

export const albert: ModelFamily = {
  modelType: 'albert',
  className: 'AlbertForSequenceClassification',
  basePrefix: 'albert',
  bodyModules: ['embeddings', 'encoder', 'pooler'],
  inputs: ['input_ids', 'attention_mask', 'token_type_ids'],
  parseConfig: (raw, where) => {
    const config = parseBertStyleConfig(raw, where, 'albert', DEFAULTS);
    const { groups: G, inner } = groups(raw);
    if (
      !(
        Number.isInteger(G) &&
        G >= 1 &&
        config.numHiddenLayers % G === 0 &&
        Number.isInteger(inner) &&
        inner >= 1
      )
    )
      throw new Error(
        `${where}: num_hidden_groups ${G} must divide num_hidden_layers ${config.numHiddenLayers}, inner_group_num ${inner} must be >= 1`,
      );
    const dropout = { ...DEFAULTS, ...raw }.classifier_dropout_prob;
    return { ...config, classifierDropout: typeof dropout === 'number' ? dropout : null };
  },
  buildEncoder,
  addHead,
  headParameters: (cfg, numLabels) => [
    ['albert.pooler.weight', [cfg.hiddenSize, cfg.hiddenSize]],
    ['albert.pooler.bias', [cfg.hiddenSize]],
    ['classifier.weight', [numLabels, cfg.hiddenSize]],
    ['classifier.bias', [numLabels]],
  ],
  dropoutAt: { attention: true, feedForward: false },
  sharedLayers: true,
};
