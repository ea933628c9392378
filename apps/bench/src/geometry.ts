/** Model geometries the suite trains: BERT-base and two smaller ones, all with bert-base-uncased's vocabulary. */
export interface Geometry {
  name: string;
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
}

/** bert-base-uncased's vocabulary and position table, so real MRPC token ids fit every geometry. */
export const VOCAB_SIZE = 30522;
export const MAX_POSITIONS = 512;

export const BERT_BASE: Geometry = {
  name: 'BERT-base 12x768',
  layers: 12,
  hidden: 768,
  heads: 12,
  intermediate: 3072,
};
export const BERT_SMALL: Geometry = { name: '4x256', layers: 4, hidden: 256, heads: 4, intermediate: 1024 };
export const BERT_TINY: Geometry = { name: '2x128', layers: 2, hidden: 128, heads: 2, intermediate: 512 };

/** A file-system-safe key for a geometry (artifact folder names). */
export function geometryKey(g: Geometry): string {
  return `L${g.layers}-H${g.hidden}-A${g.heads}-I${g.intermediate}`;
}

/** Parameter count of BertForSequenceClassification with this geometry (embeddings, encoder, pooler, head). */
export function parameterCount(g: Geometry, numLabels = 2, vocabSize = VOCAB_SIZE): number {
  const h = g.hidden;
  const embeddings = (vocabSize + MAX_POSITIONS + 2) * h + 2 * h;
  const layer =
    4 * (h * h + h) + 2 * h + (h * g.intermediate + g.intermediate) + (g.intermediate * h + h) + 2 * h;
  return embeddings + g.layers * layer + (h * h + h) + (h * numLabels + numLabels);
}

/**
 * Floating-point operations of one forward pass as ortrain's packed graphs compute it (multiply-adds count 2):
 * the linear layers on `tokens` real tokens, except the last layer's after attention, which run on each row's
 * [CLS] alone; the attention products (QK^T and PV) on the padded `batch` x `seq` grid; pooler and classifier.
 * Embeddings, LayerNorm and the element-wise ops are left out: memory-bound and small next to the products.
 */
export function forwardFlops(
  g: Geometry,
  batch: number,
  seq: number,
  tokens = batch * seq,
  numLabels = 2,
): number {
  const h = g.hidden;
  const qkv = 3 * h * h;
  const rest = h * h + 2 * h * g.intermediate;
  const attention = 4 * batch * seq * seq * h;
  return (
    g.layers * (2 * tokens * qkv + attention) +
    2 * ((g.layers - 1) * tokens + batch) * rest +
    2 * batch * (h * h + h * numLabels)
  );
}

/** A training step: the forward pass, then the backward pass with twice its products (input and weight gradients). */
export function trainingFlops(g: Geometry, batch: number, seq: number, tokens = batch * seq): number {
  return 3 * forwardFlops(g, batch, seq, tokens);
}
