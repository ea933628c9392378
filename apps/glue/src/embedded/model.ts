/**
 * A randomly initialized BERT checkpoint in the Hugging Face layout (config.json + model.safetensors), sized
 * for the embedded default. There are no pretrained weights for a vocabulary we invent, so parameters are
 * initialized exactly as transformers' BertPreTrainedModel._init_weights does: Linear and Embedding weights
 * ~ N(0, initializer_range), biases 0, the padding row of the word embeddings 0, LayerNorm weight 1 and bias 0.
 */
import { type BertConfigJson, writeSafetensors } from '@ortrain/artifacts';
import type { Tensor } from '@ortrain/graph';
import { createRng } from './prng.js';

export interface TinyBertOptions {
  seed: number;
  vocabSize: number;
  hiddenSize?: number;
  numHiddenLayers?: number;
  numAttentionHeads?: number;
  /** Defaults to 4 x hiddenSize as in BERT. */
  intermediateSize?: number;
  maxPositionEmbeddings?: number;
  hiddenDropoutProb?: number;
  attentionProbsDropoutProb?: number;
}

export interface TinyBert {
  config: BertConfigJson;
  /** Parameters in transformers' state_dict order, named as in a BertFor* checkpoint (`bert.` prefix). */
  tensors: Tensor[];
}

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
}

export function tinyBertConfig(options: TinyBertOptions): BertConfigJson {
  const hidden = options.hiddenSize ?? 128;
  const config: BertConfigJson = {
    architectures: ['BertModel'],
    model_type: 'bert',
    attention_probs_dropout_prob: options.attentionProbsDropoutProb ?? 0.1,
    hidden_act: 'gelu',
    hidden_dropout_prob: options.hiddenDropoutProb ?? 0.1,
    hidden_size: hidden,
    initializer_range: 0.02,
    intermediate_size: options.intermediateSize ?? 4 * hidden,
    layer_norm_eps: 1e-12,
    max_position_embeddings: options.maxPositionEmbeddings ?? 128,
    num_attention_heads: options.numAttentionHeads ?? 4,
    num_hidden_layers: options.numHiddenLayers ?? 2,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    type_vocab_size: 2,
    vocab_size: options.vocabSize,
  };
  for (const key of [
    'hidden_size',
    'intermediate_size',
    'max_position_embeddings',
    'num_attention_heads',
    'num_hidden_layers',
    'vocab_size',
  ] as const) {
    checkPositiveInt(key, config[key]);
  }
  if (hidden % config.num_attention_heads !== 0) {
    throw new Error(
      `hidden_size ${hidden} is not a multiple of num_attention_heads ${config.num_attention_heads}`,
    );
  }
  for (const key of ['hidden_dropout_prob', 'attention_probs_dropout_prob'] as const) {
    if (!(config[key] >= 0 && config[key] < 1))
      throw new Error(`${key} must be in [0, 1), got ${config[key]}`);
  }
  return config;
}

export function generateTinyBert(options: TinyBertOptions): TinyBert {
  const config = tinyBertConfig(options);
  const rng = createRng(options.seed);
  const std = config.initializer_range;
  const tensors: Tensor[] = [];
  const normal = (name: string, shape: number[]) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let k = 0; k < data.length; k++) data[k] = rng.normal() * std;
    tensors.push({ name, dataType: 'float32', dims: shape, data });
    return data;
  };
  const constant = (name: string, shape: number[], value: number) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value);
    tensors.push({ name, dataType: 'float32', dims: shape, data });
  };
  const h = config.hidden_size;
  // torch.nn.Linear stores weight as [out_features, in_features].
  const linear = (prefix: string, inFeatures: number, outFeatures: number) => {
    normal(`${prefix}.weight`, [outFeatures, inFeatures]);
    constant(`${prefix}.bias`, [outFeatures], 0);
  };
  const layerNorm = (prefix: string) => {
    constant(`${prefix}.weight`, [h], 1);
    constant(`${prefix}.bias`, [h], 0);
  };

  const words = normal('bert.embeddings.word_embeddings.weight', [config.vocab_size, h]);
  words.fill(0, config.pad_token_id * h, (config.pad_token_id + 1) * h);
  normal('bert.embeddings.position_embeddings.weight', [config.max_position_embeddings, h]);
  normal('bert.embeddings.token_type_embeddings.weight', [config.type_vocab_size, h]);
  layerNorm('bert.embeddings.LayerNorm');
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `bert.encoder.layer.${l}`;
    linear(`${p}.attention.self.query`, h, h);
    linear(`${p}.attention.self.key`, h, h);
    linear(`${p}.attention.self.value`, h, h);
    linear(`${p}.attention.output.dense`, h, h);
    layerNorm(`${p}.attention.output.LayerNorm`);
    linear(`${p}.intermediate.dense`, h, config.intermediate_size);
    linear(`${p}.output.dense`, config.intermediate_size, h);
    layerNorm(`${p}.output.LayerNorm`);
  }
  linear('bert.pooler.dense', h, h);
  return { config, tensors };
}

/** Writes model.safetensors; the "pt" format tag is what transformers checks before loading. */
export function writeTinyBertSafetensors(path: string, model: TinyBert): void {
  writeSafetensors(path, model.tensors, { format: 'pt' });
}
