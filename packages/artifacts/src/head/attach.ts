import { GraphBuilder, type Model, type Tensor } from '@ortrain/graph';
import type { ImportedEncoder } from '../import/encoder.js';
import { addLinear, addPooler, initLinear } from './head.js';

export interface ClassifierModel {
  /** Forward graph: batch inputs -> `logits` [batch, numLabels]; parameters are its float initializers. */
  model: Model;
  inputs: string[];
  /** Where HF's classifier dropout goes. */
  classifierInput: string;
  /** Parameters the compiler created, as HF's "newly initialized" warning lists them. */
  newlyInitialized: string[];
}

/**
 * Completes BertForSequenceClassification on top of an imported encoder: a pooler when the export has none,
 * then the classifier (num_labels outputs), both initialized like HF (normal(0, initializer_range), zero bias).
 * An export that already computes logits keeps its own classifier.
 */
export function attachClassifier(enc: ImportedEncoder, numLabels: number, seed: number): ClassifierModel {
  const { model, attach } = enc;
  if (attach.kind === 'logits') {
    if (attach.numLabels !== numLabels) {
      throw new Error(
        `the export's classifier has ${attach.numLabels} labels, ${numLabels} were asked for; pass encoderOutput naming its pooled output to get a new classifier`,
      );
    }
    return { model, inputs: enc.inputs, classifierInput: attach.classifierInput!, newlyInitialized: [] };
  }
  const g = model.graph;
  const b = new GraphBuilder(g);
  const hidden = enc.config.hiddenSize;
  const std = enc.config.initializerRange;
  const fresh: Tensor[] = [];
  const add = (tensors: Tensor[]) => {
    for (const t of tensors) {
      if (g.initializers.has(t.name)) throw new Error(`the export already has a parameter '${t.name}'`);
      g.initializers.set(t.name, t);
      fresh.push(t);
    }
  };
  let pooled = attach.value;
  if (attach.kind === 'sequence') {
    add(initLinear('bert.pooler.dense', hidden, hidden, std, seed));
    pooled = addPooler(b, attach.value);
  }
  add(initLinear('classifier', numLabels, hidden, std, seed + 1));
  addLinear(b, pooled, 'classifier', 'logits');
  g.outputs = [{ name: 'logits', type: { dataType: 'float32', shape: ['batch_size', numLabels] } }];
  return { model, inputs: enc.inputs, classifierInput: pooled, newlyInitialized: fresh.map((t) => t.name) };
}
