import type { GraphBuilder } from '@ortrain/graph';
import { addDenseHead, denseHeadParameters } from '../head/head.js';
import type { CheckpointGraph } from '../hf/checkpoint.js';
import { addActivation } from './activation.js';
import { bertLayerNames, parseBertStyleConfig } from './bert.js';
import type { ModelFamily } from './family.js';

/** ElectraConfig's defaults where they differ from BertConfig's (electra-small-discriminator geometry). */
const DEFAULTS = {
  embedding_size: 128,
  hidden_size: 256,
  num_attention_heads: 4,
  intermediate_size: 1024,
};

/**
 * ElectraModel: BERT's embeddings at embedding_size, then embeddings_project (Linear to hidden_size) when the
 * sizes differ, then BERT's layers; no pooler.
 */
function buildEncoder(ck: CheckpointGraph): string {
  const cfg = ck.config;
  const E = cfg.embeddingSize;
  let h = ck.embeddings('electra.embeddings', { size: E });
  if (E !== cfg.hiddenSize) h = ck.linear(h, 'electra.embeddings_project', E, cfg.hiddenSize);
  const mask = ck.extendedMask();
  for (let i = 0; i < cfg.numHiddenLayers; i++)
    h = ck.layer(h, bertLayerNames(`electra.encoder.layer.${i}`), mask);
  return h;
}

/** ElectraClassificationHead: features[:, 0] -> dense -> gelu -> out_proj (dropout before dense and before
 * out_proj; the compiler inserts the second, at the returned classifier input). */
function addHead(b: GraphBuilder, sequenceOutput: string, logits: string): string {
  return addDenseHead(b, sequenceOutput, logits, (x) => addActivation(b, x, 'gelu'));
}

export const electra: ModelFamily = {
  modelType: 'electra',
  className: 'ElectraForSequenceClassification',
  basePrefix: 'electra',
  bodyModules: ['embeddings', 'embeddings_project', 'encoder'],
  inputs: ['input_ids', 'attention_mask', 'token_type_ids'],
  parseConfig: (raw, where) => parseBertStyleConfig(raw, where, 'electra', DEFAULTS),
  buildEncoder,
  addHead,
  headParameters: (cfg, numLabels) => denseHeadParameters(cfg.hiddenSize, numLabels),
  dropoutAt: { attention: true, feedForward: true, headDense: true },
};
