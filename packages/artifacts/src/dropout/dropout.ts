import { consumers, type Graph, GraphBuilder, type Node, producers, topoSort } from '@ortrain/graph';
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
 * - classifier: the classifier input.
 */
export function findDropoutSites(g: Graph, classifierInput: string): DropoutSite[] {
  const prod = producers(g);
  const cons = consumers(g);
  const sites: DropoutSite[] = [];
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
      if (dense !== undefined) sites.push({ value: dense, kind: 'hidden', readers: [residual!] });
      else if (!sites.some((s) => s.kind === 'hidden')) {
        // The first LayerNorm not closing a residual block normalizes the embeddings.
        sites.push({ value: n.outputs[0]!, kind: 'hidden', readers: cons.get(n.outputs[0]!) ?? [] });
      }
    }
  }
  sites.push({ value: classifierInput, kind: 'classifier', readers: cons.get(classifierInput) ?? [] });
  return sites;
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
    const [dropped] = b.op(
      'Dropout',
      [site.value, ratio, training],
      {},
      { outputs: [b.fresh(`${site.value}/dropout`), b.fresh(`${site.value}/dropout_mask`)] },
    );
    for (const r of site.readers) r.inputs = r.inputs.map((i) => (i === site.value ? dropped! : i));
    count++;
  }
  topoSort(g);
  return count;
}
