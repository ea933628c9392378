import type { GraphBuilder } from '../ir/builder.js';
import type { Node } from '../ir/types.js';
import { opSpec } from '../ops/registry.js';

/**
 * Adds the optional outputs that the gradient rules of `nodes` read (OpSpec.gradOutputs: Dropout's mask,
 * LayerNormalization's Mean and InvStdDev) where the exporter left them out, under fresh names. This is the
 * one place differentiation changes the forward graph; the rules themselves only read it.
 */
export function exposeOutputs(b: GraphBuilder, nodes: Iterable<Node>): void {
  for (const n of nodes) {
    for (const [k, suffix] of opSpec(n)?.gradOutputs?.(n) ?? []) {
      while (n.outputs.length < k) n.outputs.push('');
      if (!n.outputs[k]) n.outputs[k] = b.fresh(`${n.name}_${suffix}`);
    }
  }
}
