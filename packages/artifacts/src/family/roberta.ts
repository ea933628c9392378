import { attr, type GraphBuilder } from '@ortrain/graph';
import { addDenseHead, denseHeadParameters } from '../head/head.js';
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
  // position_ids = cumsum(mask, 1) * mask + padding_idx, mask = input_ids != padding_idx.
  const pad = b.scalar(cfg.padTokenId, 'int64');
  const mask = b.op1('Cast', [b.op1('Not', [b.op1('Equal', ['input_ids', pad])])], { to: attr.int(7) });
  const cumsum = b.op1('CumSum', [mask, b.scalar(1, 'int64')]);
  const positionIds = b.op1('Add', [b.op1('Mul', [cumsum, mask]), pad]);
  const tokenTypeIds = b.scalar(0, 'int64'); // the all-zero buffer: type 0 everywhere
  let h = ck.embeddings('roberta.embeddings', { tokenTypeIds, positionIds });
  const extended = ck.extendedMask();
  for (let i = 0; i < cfg.numHiddenLayers; i++)
    h = ck.layer(h, bertLayerNames(`roberta.encoder.layer.${i}`), extended);
  return h;
}

/** RobertaClassificationHead: features[:, 0] -> dense -> tanh -> out_proj (dropout before dense and before
 * out_proj; the compiler inserts the second, at the returned classifier input). */
function addHead(b: GraphBuilder, sequenceOutput: string, logits: string): string {
  return addDenseHead(b, sequenceOutput, logits, (x) => b.op1('Tanh', [x]));
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
    headParameters: (cfg, numLabels) => denseHeadParameters(cfg.hiddenSize, numLabels),
    dropoutAt: { attention: true, feedForward: true, headDense: true },
    firstPositionId: (cfg) => cfg.padTokenId + 1,
  };
}

export const roberta = robertaFamily('roberta', 'RobertaForSequenceClassification');
/** XLM-RoBERTa: RoBERTa's code (modeling_xlm_roberta.py) under its own class names, a larger vocabulary. */
export const xlmRoberta = robertaFamily('xlm-roberta', 'XLMRobertaForSequenceClassification');
