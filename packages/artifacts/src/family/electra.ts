import { attr, type GraphBuilder } from '@ortrain/graph';
import { addLinear } from '../head/head.js';
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
  const { b, config: cfg } = ck;
  const E = cfg.embeddingSize;
  const e = 'electra.embeddings';
  const words = b.op1('Gather', [ck.param(`${e}.word_embeddings.weight`, [cfg.vocabSize, E]), 'input_ids']);
  const types = b.op1('Gather', [
    ck.param(`${e}.token_type_embeddings.weight`, [cfg.typeVocabSize, E]),
    'token_type_ids',
  ]);
  const positions = ck.positions(ck.param(`${e}.position_embeddings.weight`, [cfg.maxPositionEmbeddings, E]));
  let h = ck.layerNorm(b.op1('Add', [b.op1('Add', [words, types]), positions]), `${e}.LayerNorm`, E);
  if (E !== cfg.hiddenSize) h = ck.linear(h, 'electra.embeddings_project', E, cfg.hiddenSize);
  const mask = ck.extendedMask();
  for (let i = 0; i < cfg.numHiddenLayers; i++)
    h = ck.layer(h, bertLayerNames(`electra.encoder.layer.${i}`), mask);
  return h;
}

/** ElectraClassificationHead: features[:, 0] -> dense -> gelu -> out_proj (dropout before dense and before
 * out_proj; the compiler inserts the second, at the returned classifier input). */
function addHead(b: GraphBuilder, sequenceOutput: string, logits: string): string {
  const first = b.op1('Gather', [sequenceOutput, b.scalar(0, 'int64')], { axis: attr.int(1) });
  const x = addActivation(b, addLinear(b, first, 'classifier.dense'), 'gelu');
  addLinear(b, x, 'classifier.out_proj', logits);
  return x;
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
  headParameters: (cfg, numLabels) => [
    ['classifier.dense.weight', [cfg.hiddenSize, cfg.hiddenSize]],
    ['classifier.dense.bias', [cfg.hiddenSize]],
    ['classifier.out_proj.weight', [numLabels, cfg.hiddenSize]],
    ['classifier.out_proj.bias', [numLabels]],
  ],
  dropoutAt: { attention: true, feedForward: true, headDense: true },
};
