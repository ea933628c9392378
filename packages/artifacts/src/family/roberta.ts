import { attr, type GraphBuilder } from '@ortrain/graph';
import { addLinear } from '../head/head.js';
import type { CheckpointGraph } from '../hf/checkpoint.js';
import { bertLayerNames, parseBertStyleConfig } from './bert.js';
import type { ModelFamily } from './family.js';

/** RobertaConfig's defaults where they differ from BertConfig's (roberta-base). */
const DEFAULTS = {
  vocab_size: 50265,
  max_position_embeddings: 514,
  type_vocab_size: 1,
  layer_norm_eps: 1e-5,
  pad_token_id: 1,
};

/**
 * RobertaModel (no pooler): word + token type (the all-zero buffer: no token_type_ids input) + position
 * embeddings with position ids counted from padding_idx + 1 over the non-pad tokens
 * (create_position_ids_from_input_ids), LayerNorm, BERT's layers.
 */
function buildEncoder(ck: CheckpointGraph): string {
  const { b, config: cfg } = ck;
  const H = cfg.hiddenSize;
  const e = 'roberta.embeddings';
  const words = b.op1('Gather', [ck.param(`${e}.word_embeddings.weight`, [cfg.vocabSize, H]), 'input_ids']);
  const types = b.op1('Gather', [
    ck.param(`${e}.token_type_embeddings.weight`, [cfg.typeVocabSize, H]),
    b.scalar(0, 'int64'),
  ]);
  // position_ids = cumsum(mask, 1) * mask + padding_idx, mask = input_ids != padding_idx.
  const pad = b.scalar(cfg.padTokenId, 'int64');
  const mask = b.op1('Cast', [b.op1('Not', [b.op1('Equal', ['input_ids', pad])])], { to: attr.int(7) });
  const cumsum = b.op1('CumSum', [mask, b.scalar(1, 'int64')]);
  const positionIds = b.op1('Add', [b.op1('Mul', [cumsum, mask]), pad]);
  const positions = b.op1('Gather', [
    ck.param(`${e}.position_embeddings.weight`, [cfg.maxPositionEmbeddings, H]),
    positionIds,
  ]);
  let h = ck.layerNorm(b.op1('Add', [b.op1('Add', [words, types]), positions]), `${e}.LayerNorm`);
  const extended = ck.extendedMask();
  for (let i = 0; i < cfg.numHiddenLayers; i++)
    h = ck.layer(h, bertLayerNames(`roberta.encoder.layer.${i}`), extended);
  return h;
}

/** RobertaClassificationHead: features[:, 0] -> dense -> tanh -> out_proj (dropout before dense and before
 * out_proj; the compiler inserts the second, at the returned classifier input). */
function addHead(b: GraphBuilder, sequenceOutput: string, logits: string): string {
  const first = b.op1('Gather', [sequenceOutput, b.scalar(0, 'int64')], { axis: attr.int(1) });
  const x = b.op1('Tanh', [addLinear(b, first, 'classifier.dense')]);
  addLinear(b, x, 'classifier.out_proj', logits);
  return x;
}

function robertaFamily(modelType: string, className: string): ModelFamily {
  return {
    modelType,
    className,
    basePrefix: 'roberta',
    bodyModules: ['embeddings', 'encoder', 'pooler'],
    inputs: ['input_ids', 'attention_mask'],
    parseConfig: (raw, where) => parseBertStyleConfig(raw, where, modelType, DEFAULTS),
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
}

export const roberta = robertaFamily('roberta', 'RobertaForSequenceClassification');
/** XLM-RoBERTa: RoBERTa's code (modeling_xlm_roberta.py) under its own class names, a larger vocabulary. */
export const xlmRoberta = robertaFamily('xlm-roberta', 'XLMRobertaForSequenceClassification');
