import { join } from 'node:path';
import { attr, emptyGraph, GraphBuilder, type Model, type Tensor } from '@ortrain/graph';
import { type BertConfig, readBertConfig } from '../config.js';
import type { AttachPoint, ImportedEncoder } from '../import/encoder.js';
import { readSafetensors } from '../safetensors.js';
import { transpose2d } from '../tensors.js';

/**
 * Builds the BERT forward graph from a Hugging Face checkpoint folder (config.json + model.safetensors), as
 * HF's BertModel computes it (extended attention mask with the dtype minimum, exact erf GELU, LayerNorm), under
 * HF's parameter names. Pretraining heads (`cls.*`) are ignored; a pooler and a classifier are used when present.
 */
export function importHfCheckpoint(dir: string, config?: BertConfig): ImportedEncoder {
  const cfg = config ?? readBertConfig(join(dir, 'config.json'));
  const file = join(dir, 'model.safetensors');
  const weights = normalizeNames(readSafetensors(file));
  const g = emptyGraph('bert');
  const b = new GraphBuilder(g);
  const transposed = new Set<string>();
  const param = (name: string, dims: number[], transpose = false): string => {
    const t = weights.get(name);
    if (t === undefined) throw new Error(`${file}: missing tensor '${name}'`);
    if (t.dataType !== 'float32')
      throw new Error(`${file}: tensor '${name}' is ${t.dataType}, expected float32`);
    if (t.dims.join() !== dims.join())
      throw new Error(`${file}: tensor '${name}' has shape [${t.dims}], expected [${dims}]`);
    // MatMul reads Linear weights as [in, out]; transposing once here spares a Transpose op per step.
    g.initializers.set(name, transpose ? transpose2d(t) : t);
    if (transpose) transposed.add(name);
    return name;
  };
  const H = cfg.hiddenSize;
  const heads = cfg.numAttentionHeads;
  const headSize = H / heads;
  const c = (hint: string, dataType: 'int64' | 'float32', dims: number[], values: number[]) =>
    b.constant(hint, dataType, dims, values);
  const seqDims = ['batch_size', 'sequence_length'];
  for (const name of ['input_ids', 'attention_mask', 'token_type_ids']) {
    b.addInput({ name, type: { dataType: 'int64', shape: seqDims } });
  }
  const linear = (x: string, prefix: string, inF: number, outF: number): string => {
    const mm = b.op1(
      'MatMul',
      [x, param(`${prefix}.weight`, [outF, inF], true)],
      {},
      { name: `/${prefix}/MatMul` },
    );
    return b.op1('Add', [mm, param(`${prefix}.bias`, [outF])], {}, { name: `/${prefix}/Add` });
  };
  const layerNorm = (x: string, prefix: string): string =>
    b.op1('LayerNormalization', [x, param(`${prefix}.weight`, [H]), param(`${prefix}.bias`, [H])], {
      axis: attr.int(-1),
      epsilon: attr.float(cfg.layerNormEps),
    });

  // Embeddings: word + token type + position (0 .. seq-1), LayerNorm.
  const e = 'bert.embeddings';
  const words = b.op1('Gather', [param(`${e}.word_embeddings.weight`, [cfg.vocabSize, H]), 'input_ids']);
  const types = b.op1('Gather', [
    param(`${e}.token_type_embeddings.weight`, [cfg.typeVocabSize, H]),
    'token_type_ids',
  ]);
  // position_ids = arange(seq_len): HF's position_ids buffer sliced to the sequence. Range (not a Slice of a
  // max_position_embeddings table) keeps the sequence length's symbol through shape inference, which spares
  // the gradients Shape nodes that would hold activations alive; a sequence past the table fails in Gather.
  const oneI = c('one_i', 'int64', [], [1]);
  const seqLen = b.op1('Gather', [b.op1('Shape', ['input_ids']), oneI], { axis: attr.int(0) });
  const positionIds = b.op1('Range', [c('zero', 'int64', [], [0]), seqLen, oneI]);
  const positions = b.op1('Gather', [
    param(`${e}.position_embeddings.weight`, [cfg.maxPositionEmbeddings, H]),
    positionIds,
  ]);
  let h = layerNorm(b.op1('Add', [b.op1('Add', [words, types]), positions]), `${e}.LayerNorm`);

  // HF get_extended_attention_mask: (1 - mask[:, None, None, :]) * finfo(float32).min.
  const mask4 = b.op1('Unsqueeze', ['attention_mask', c('mask_axes', 'int64', [2], [1, 2])]);
  const maskF = b.op1('Cast', [mask4], { to: attr.int(1) });
  const extended = b.op1('Mul', [
    b.op1('Sub', [c('one_f', 'float32', [], [1]), maskF]),
    c('f32_min', 'float32', [], [-3.4028234663852886e38]),
  ]);
  const headsShape = c('heads_shape', 'int64', [4], [0, 0, heads, headSize]);
  const hiddenShape = c('hidden_shape', 'int64', [3], [0, 0, H]);
  const scale = c('sqrt_head_size', 'float32', [], [Math.sqrt(headSize)]);
  const sqrt2 = c('sqrt2', 'float32', [], [Math.SQRT2]);
  const one = c('gelu_one', 'float32', [], [1]);
  const half = c('gelu_half', 'float32', [], [0.5]);

  for (let i = 0; i < cfg.numHiddenLayers; i++) {
    const l = `bert.encoder.layer.${i}`;
    const split = (x: string, perm: number[]) =>
      b.op1('Transpose', [b.op1('Reshape', [x, headsShape])], { perm: attr.ints(perm) });
    const q = split(linear(h, `${l}.attention.self.query`, H, H), [0, 2, 1, 3]);
    const k = split(linear(h, `${l}.attention.self.key`, H, H), [0, 2, 3, 1]); // K^T directly
    const v = split(linear(h, `${l}.attention.self.value`, H, H), [0, 2, 1, 3]);
    const scores = b.op1('Add', [b.op1('Div', [b.op1('MatMul', [q, k]), scale]), extended]);
    const probs = b.op1('Softmax', [scores], { axis: attr.int(-1) });
    const context = b.op1('Reshape', [
      b.op1('Transpose', [b.op1('MatMul', [probs, v])], { perm: attr.ints([0, 2, 1, 3]) }),
      hiddenShape,
    ]);
    const attended = layerNorm(
      b.op1('Add', [linear(context, `${l}.attention.output.dense`, H, H), h]),
      `${l}.attention.output.LayerNorm`,
    );
    const x = linear(attended, `${l}.intermediate.dense`, H, cfg.intermediateSize);
    // Exact GELU as torch exports it: x * 0.5 * (1 + erf(x / sqrt(2))).
    const gelu = b.op1('Mul', [
      b.op1('Mul', [x, b.op1('Add', [b.op1('Erf', [b.op1('Div', [x, sqrt2])]), one])]),
      half,
    ]);
    h = layerNorm(
      b.op1('Add', [linear(gelu, `${l}.output.dense`, cfg.intermediateSize, H), attended]),
      `${l}.output.LayerNorm`,
    );
  }
  const sequence = 'last_hidden_state';
  g.nodes.at(-1)!.outputs = [sequence];
  let attach: AttachPoint = { kind: 'sequence', value: sequence };
  if (weights.has('bert.pooler.dense.weight')) {
    const first = b.op1('Gather', [sequence, c('first_token', 'int64', [], [0])], { axis: attr.int(1) });
    const dense = b.op1(
      'Gemm',
      [first, param('bert.pooler.dense.weight', [H, H]), param('bert.pooler.dense.bias', [H])],
      {
        transB: attr.int(1),
      },
    );
    const pooled = b.op1('Tanh', [dense], {}, { outputs: ['pooler_output'] });
    attach = { kind: 'pooled', value: pooled };
    const w = weights.get('classifier.weight');
    if (w !== undefined) {
      const n = w.dims[0]!;
      b.op1(
        'Gemm',
        [pooled, param('classifier.weight', [n, H]), param('classifier.bias', [n])],
        { transB: attr.int(1) },
        { outputs: ['logits'] },
      );
      attach = { kind: 'logits', value: 'logits', classifierInput: pooled, numLabels: n };
    }
  }
  g.outputs = [{ name: attach.value }];
  const model: Model = {
    irVersion: 8,
    opsets: new Map([['', 17]]),
    producerName: '@ortrain/artifacts',
    producerVersion: '0.1.0',
    graph: g,
    metadata: {},
  };
  return {
    model,
    inputs: ['input_ids', 'attention_mask', 'token_type_ids'],
    attach,
    transposed,
    config: cfg,
    source: attach.value,
    unusedWeights: [...weights.keys()].filter((n) => !g.initializers.has(n)),
  };
}

/** `bert.`-prefixed names (checkpoints saved from BertModel lack it) and LayerNorm.weight/bias for the
 * legacy gamma/beta. */
function normalizeNames(weights: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of weights) {
    let n = /^(embeddings|encoder|pooler)\./.test(name) ? `bert.${name}` : name;
    n = n.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
    out.set(n, { ...t, name: n });
  }
  return out;
}
