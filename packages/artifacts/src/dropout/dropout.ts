import { consumers, type Graph, GraphBuilder, type Node, producers, topoSort } from '@ortrain/graph';
import type { DropoutPlaces } from '../family/family.js';
import type { DropoutInfo } from '../manifest.js';

export interface DropoutSite {
  /** The value to drop out. */
  value: string;
  kind: keyof DropoutInfo;
  /** The nodes that read the dropped-out value (the others keep reading `value`). */
  readers: Node[];
}

/**
 * BERT's dropout sites, found by structure in a normalized forward graph (LayerNorms as LayerNormalization):
 * - hidden: the embeddings LayerNorm output, and each dense output (MatMul + bias) entering a residual Add
 *   before a LayerNorm (attention output, feed-forward output);
 * - attention: each Softmax output (attention probabilities);
 * - classifier: the classifier input, and for heads with a dense layer (RoBERTa, ELECTRA) that layer's input.
 * `dropoutAt` says which of the two residual sites of a layer the family drops out, and the head's dense input.
 */
export function findDropoutSites(
  g: Graph,
  classifierInput: string,
  dropoutAt: DropoutPlaces = { attention: true, feedForward: true },
): DropoutSite[] {
  const prod = producers(g);
  const cons = consumers(g);
  const sites: DropoutSite[] = [];
  let residuals = 0;
  const isDense = (value: string): boolean => {
    const n = prod.get(value);
    if (n?.opType === 'Gemm') return true;
    // MatMul + bias, the bias being a parameter (an initializer, or a graph input once parameters are fed).
    return (
      n?.opType === 'Add' &&
      n.inputs.some((i) => prod.get(i)?.opType === 'MatMul') &&
      n.inputs.some((i) => !prod.has(i))
    );
  };
  for (const n of g.nodes) {
    if (n.opType === 'Softmax') {
      sites.push({ value: n.outputs[0]!, kind: 'attention', readers: cons.get(n.outputs[0]!) ?? [] });
    } else if (n.opType === 'LayerNormalization') {
      const residual = prod.get(n.inputs[0]!);
      const dense = residual?.opType === 'Add' ? residual.inputs.find(isDense) : undefined;
      if (dense !== undefined) {
        // Residual blocks alternate attention output, feed-forward output (families skip one or the other).
        residuals++;
        if (residuals % 2 === 1 ? dropoutAt.attention : dropoutAt.feedForward)
          sites.push({ value: dense, kind: 'hidden', readers: [residual!] });
      } else if (residuals === 0 && !sites.some((s) => s.kind === 'hidden')) {
        // The first LayerNorm not closing a residual block normalizes the embeddings.
        sites.push({ value: n.outputs[0]!, kind: 'hidden', readers: cons.get(n.outputs[0]!) ?? [] });
      }
    }
  }
  sites.push({ value: classifierInput, kind: 'classifier', readers: cons.get(classifierInput) ?? [] });
  if (dropoutAt.headDense) {
    const dense = headDense(classifierInput, prod);
    if (dense !== undefined) sites.push({ value: dense.inputs[0]!, kind: 'classifier', readers: [dense] });
  }
  return sites;
}

/** The dense layer (Gemm, or MatMul of a bias Add) whose activation computes the classifier input. */
function headDense(classifierInput: string, prod: Map<string, Node>): Node | undefined {
  let n = prod.get(classifierInput);
  for (let depth = 0; n !== undefined && depth < 12; depth++) {
    if (n.opType === 'Gemm' || n.opType === 'MatMul') return n;
    n = n.inputs.map((i) => prod.get(i)).find((p) => p !== undefined);
  }
  return undefined;
}

/**
 * Inserts training-mode Dropout (ratio from `rates`, which compileArtifacts has checked to lie in [0, 1); skipped
 * at 0) at the given sites: element-wise placeholders that token packing moves, which seedDropout then replaces
 * by seeded masks. Returns the number of Dropout nodes.
 */
export function insertDropout(g: Graph, sites: DropoutSite[], rates: DropoutInfo): number {
  const b = new GraphBuilder(g);
  const training = b.constant('dropout_training_mode', 'bool', [], [1]);
  const ratios = new Map<number, string>();
  let count = 0;
  for (const site of sites) {
    const rate = rates[site.kind];
    if (rate === 0) continue;
    let ratio = ratios.get(rate);
    if (ratio === undefined) ratios.set(rate, (ratio = b.constant('dropout_ratio', 'float32', [], [rate])));
    const dropped = b.op1(
      'Dropout',
      [site.value, ratio, training],
      {},
      {
        outputs: [b.fresh(`${site.value}/dropout`)],
      },
    );
    for (const r of site.readers) r.inputs = r.inputs.map((i) => (i === site.value ? dropped : i));
    count++;
  }
  topoSort(g);
  return count;
}
