import type { Tensor } from '@ortrain/graph';
import type { ArtifactManifest } from '../manifest.js';
import { transpose2d } from '../tensors.js';

/**
 * Parameters in Hugging Face's layout and names (a BertForSequenceClassification state dict), ready for
 * `writeSafetensors(dir/model.safetensors, ...)`: weights the graphs store transposed go back to [out, in].
 */
export function hfStateDict(
  manifest: ArtifactManifest,
  weights: ReadonlyMap<string, Float32Array>,
): Tensor[] {
  return manifest.parameters.map((p) => {
    const data = weights.get(p.name);
    if (data === undefined) throw new Error(`hfStateDict: no value for parameter '${p.name}'`);
    const t: Tensor = { name: p.name, dataType: 'float32', dims: p.shape, data };
    return p.transposed ? transpose2d(t) : t;
  });
}
