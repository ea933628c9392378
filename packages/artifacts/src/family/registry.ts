import { albert } from './albert.js';
import { bert } from './bert.js';
import { distilbert } from './distilbert.js';
import { electra } from './electra.js';
import type { ModelFamily } from './family.js';
import { roberta, xlmRoberta } from './roberta.js';

/** The supported families by model_type. */
const FAMILIES: ReadonlyMap<string, ModelFamily> = new Map(
  [bert, distilbert, roberta, xlmRoberta, electra, albert].map((f) => [f.modelType, f]),
);

/** Families known and refused, with what is missing. */
const MISSING: ReadonlyMap<string, string> = new Map(
  ['deberta', 'deberta-v2'].map((t) => [
    t,
    "DeBERTa's disentangled attention (content-to-position and position-to-content scores gathered from log-bucketed relative positions over the shared, LayerNorm'ed rel_embeddings, and its masked XSoftmax) has no graph builder for checkpoints and is not matched in ONNX exports yet",
  ]),
);

/** The family of a config.json's model_type; an unknown one is refused with the list of supported ones. */
export function familyOf(modelType: string, where = 'config.json'): ModelFamily {
  const family = FAMILIES.get(modelType);
  const missing = MISSING.get(modelType);
  if (missing !== undefined) {
    throw new Error(
      `${where}: model_type '${modelType}' is not supported: ${missing} (supported: ${[...FAMILIES.keys()].join(', ')})`,
    );
  }
  if (family === undefined) {
    throw new Error(
      `${where}: model_type '${modelType}' is not supported (supported: ${[...FAMILIES.keys()].join(', ')})`,
    );
  }
  return family;
}
