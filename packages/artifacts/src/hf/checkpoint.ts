import { attr, type Graph, GraphBuilder, type Tensor } from '@ortrain/graph';
import type { BertConfig } from '../config.js';
import { addActivation } from '../family/activation.js';
import { transpose2d } from '../tensors.js';

/** The parameter names of one post-LayerNorm transformer layer (a family's module tree), without `.weight`. */
export interface LayerNames {
  query: string;
  key: string;
  value: string;
  attentionOutput: string;
  attentionNorm: string;
  intermediate: string;
  output: string;
  outputNorm: string;
}

/**
 * Builds a forward graph from checkpoint tensors, the way HF's modeling code computes it: parameters are taken
 * from the checkpoint by HF name with their shapes checked, Linear weights stored [in, out] for MatMul.
 */
export class CheckpointGraph {
  readonly b: GraphBuilder;
  readonly transposed = new Set<string>();

  constructor(
    readonly g: Graph,
    readonly weights: ReadonlyMap<string, Tensor>,
    readonly config: BertConfig,
    readonly file: string,
  ) {
    this.b = new GraphBuilder(g);
  }

  has(name: string): boolean {
    return this.weights.has(name);
  }

  /** A checkpoint tensor as a parameter; `transpose` stores a Linear weight [out, in] as [in, out]. */
  param(name: string, dims: number[], transpose = false): string {
    const t = this.weights.get(name);
    if (t === undefined) throw new Error(`${this.file}: missing tensor '${name}'`);
    if (t.dataType !== 'float32')
      throw new Error(`${this.file}: tensor '${name}' is ${t.dataType}, expected float32`);
    if (t.dims.join() !== dims.join())
      throw new Error(`${this.file}: tensor '${name}' has shape [${t.dims}], config.json implies [${dims}]`);
    // MatMul reads Linear weights as [in, out]; transposing once here spares a Transpose op per step.
    this.g.initializers.set(name, transpose ? transpose2d(t) : t);
    if (transpose) this.transposed.add(name);
    return name;
  }

  linear(x: string, prefix: string, inF: number, outF: number): string {
    const { b } = this;
    const w = this.param(`${prefix}.weight`, [outF, inF], true);
    // Fresh node names: a shared layer (ALBERT) applies the same Linear several times.
    const mm = b.op1('MatMul', [x, w], {}, { name: b.fresh(`/${prefix}/MatMul`) });
    const bias = this.param(`${prefix}.bias`, [outF]);
    return b.op1('Add', [mm, bias], {}, { name: b.fresh(`/${prefix}/Add`) });
  }

  layerNorm(x: string, prefix: string, size = this.config.hiddenSize): string {
    return this.b.op1(
      'LayerNormalization',
      [x, this.param(`${prefix}.weight`, [size]), this.param(`${prefix}.bias`, [size])],
      { axis: attr.int(-1), epsilon: attr.float(this.config.layerNormEps) },
    );
  }

  /** `table[arange(seq_len)]`: HF's position_ids buffer sliced to the sequence, plus `offset`. Range (not a
   * Slice of the table) keeps the sequence length's symbol through shape inference, which spares the
   * gradients Shape nodes that would hold activations alive; a sequence past the table fails in Gather. */
  positions(table: string, offset = 0): string {
    const { b } = this;
    const oneI = b.scalar(1, 'int64');
    const seqLen = b.op1('Gather', [b.op1('Shape', ['input_ids']), oneI], { axis: attr.int(0) });
    const start = b.scalar(offset, 'int64');
    const end = offset === 0 ? seqLen : b.op1('Add', [seqLen, start]);
    return b.op1('Gather', [table, b.op1('Range', [start, end, oneI])]);
  }

  /**
   * BERT-style embeddings at `size` (embedding_size): word + token type (when the config has types; default
   * from the `token_type_ids` input) + position (default arange(seq_len)), then LayerNorm, under `prefix`.
   */
  embeddings(
    prefix: string,
    options: { size?: number; tokenTypeIds?: string; positionIds?: string } = {},
  ): string {
    const { b, config: cfg } = this;
    const size = options.size ?? cfg.hiddenSize;
    const table = (name: string, rows: number) => this.param(`${prefix}.${name}.weight`, [rows, size]);
    let sum = b.op1('Gather', [table('word_embeddings', cfg.vocabSize), 'input_ids']);
    if (cfg.typeVocabSize > 0) {
      const types = table('token_type_embeddings', cfg.typeVocabSize);
      sum = b.op1('Add', [sum, b.op1('Gather', [types, options.tokenTypeIds ?? 'token_type_ids'])]);
    }
    const positionTable = table('position_embeddings', cfg.maxPositionEmbeddings);
    const positions =
      options.positionIds === undefined
        ? this.positions(positionTable)
        : b.op1('Gather', [positionTable, options.positionIds]);
    return this.layerNorm(b.op1('Add', [sum, positions]), `${prefix}.LayerNorm`, size);
  }

  /** HF get_extended_attention_mask: (1 - mask[:, None, None, :]) * finfo(float32).min, added to scores. */
  extendedMask(): string {
    const { b } = this;
    const mask4 = b.op1('Unsqueeze', ['attention_mask', b.ints([1, 2])]);
    const maskF = b.op1('Cast', [mask4], { to: attr.int(1) });
    return b.op1('Mul', [
      b.op1('Sub', [b.scalar(1, 'float32'), maskF]),
      b.scalar(-3.4028234663852886e38, 'float32'),
    ]);
  }

  /**
   * One post-LayerNorm transformer layer (BERT's and its descendants'): self-attention with the additive
   * `mask`, residual + LayerNorm, feed-forward with the config's activation, residual + LayerNorm.
   * `scaleQuery` divides the queries by sqrt(head_size) before the product (DistilBERT) instead of the scores.
   */
  layer(h: string, names: LayerNames, mask: string, scaleQuery = false): string {
    const { b, config: cfg } = this;
    const H = cfg.hiddenSize;
    const heads = cfg.numAttentionHeads;
    const headSize = H / heads;
    const headsShape = b.ints([0, 0, heads, headSize]);
    const hiddenShape = b.ints([0, 0, H]);
    const scale = b.scalar(Math.sqrt(headSize), 'float32');
    const split = (x: string, perm: number[]) =>
      b.op1('Transpose', [b.op1('Reshape', [x, headsShape])], { perm: attr.ints(perm) });
    let q = split(this.linear(h, names.query, H, H), [0, 2, 1, 3]);
    const k = split(this.linear(h, names.key, H, H), [0, 2, 3, 1]); // K^T directly
    const v = split(this.linear(h, names.value, H, H), [0, 2, 1, 3]);
    if (scaleQuery) q = b.op1('Div', [q, scale]);
    const product = b.op1('MatMul', [q, k]);
    const scores = b.op1('Add', [scaleQuery ? product : b.op1('Div', [product, scale]), mask]);
    const probs = b.op1('Softmax', [scores], { axis: attr.int(-1) });
    const context = b.op1('Reshape', [
      b.op1('Transpose', [b.op1('MatMul', [probs, v])], { perm: attr.ints([0, 2, 1, 3]) }),
      hiddenShape,
    ]);
    const attended = this.layerNorm(
      b.op1('Add', [this.linear(context, names.attentionOutput, H, H), h]),
      names.attentionNorm,
    );
    const x = this.linear(attended, names.intermediate, H, cfg.intermediateSize);
    const ffn = this.linear(addActivation(b, x, cfg.hiddenAct), names.output, cfg.intermediateSize, H);
    return this.layerNorm(b.op1('Add', [ffn, attended]), names.outputNorm);
  }
}
