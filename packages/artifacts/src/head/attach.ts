import { GraphBuilder, type Model } from '@ortrain/graph';
import { familyOf } from '../family/registry.js';
import type { ImportedEncoder } from '../import/encoder.js';
import { addLinear, initLinear } from './head.js';

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
 * Completes the family's sequence-classification model on top of an imported encoder: its head (BERT: pooler +
 * classifier; DistilBERT: pre_classifier + ReLU + classifier; ...) with `numLabels` outputs. Head parameters a
 * checkpoint holds are used, the others initialized like HF (normal(0, initializer_range), zero bias). A BERT
 * export with a pooled output gets a classifier only; an export that already computes logits keeps its own.
 */
export function attachClassifier(enc: ImportedEncoder, numLabels: number, seed: number): ClassifierModel {
  const { model, attach, config } = enc;
  const family = familyOf(config.modelType);
  if (attach.kind === 'logits') {
    if (attach.numLabels !== numLabels) {
      throw new Error(
        `the export's classifier has ${attach.numLabels} labels, ${numLabels} were asked for; pass encoderOutput naming its ${family.modelType === 'bert' ? 'pooled' : 'last hidden'} output to get a new classifier`,
      );
    }
    return { model, inputs: enc.inputs, classifierInput: attach.classifierInput!, newlyInitialized: [] };
  }
  const g = model.graph;
  const b = new GraphBuilder(g);
  const fresh: string[] = [];
  const add = (params: [string, number[]][], firstSeed: number) => {
    // Each Linear (a .weight and its .bias) is drawn from its own seed, in the order the head lists them.
    const linears = [...new Set(params.map(([name]) => name.replace(/\.(weight|bias)$/, '')))];
    for (const [name, dims] of params) {
      if (g.initializers.has(name)) throw new Error(`the export already has a parameter '${name}'`);
      const held = enc.headWeights?.get(name);
      if (held !== undefined) {
        if (held.dims.join() !== dims.join()) {
          throw new Error(
            `the checkpoint's '${name}' has shape [${held.dims}], [${dims}] expected for ${numLabels} labels; remove the head's tensors from the checkpoint to get a new head`,
          );
        }
        g.initializers.set(name, held);
        continue;
      }
      const linear = name.replace(/\.(weight|bias)$/, '');
      const std = config.initializerRange;
      const [w, bias] = initLinear(linear, dims[0]!, dims[1] ?? 1, std, firstSeed + linears.indexOf(linear));
      g.initializers.set(name, name.endsWith('.weight') ? w! : bias!);
      fresh.push(name);
    }
  };
  let classifierInput: string;
  if (attach.kind === 'pooled') {
    add(
      [
        ['classifier.weight', [numLabels, config.hiddenSize]],
        ['classifier.bias', [numLabels]],
      ],
      seed + 1, // the classifier is the second Linear of BERT's head
    );
    addLinear(b, attach.value, 'classifier', 'logits');
    classifierInput = attach.value;
  } else {
    add(family.headParameters(config, numLabels), seed);
    classifierInput = family.addHead(b, attach.value, 'logits');
  }
  g.outputs = [{ name: 'logits', type: { dataType: 'float32', shape: ['batch_size', numLabels] } }];
  return { model, inputs: enc.inputs, classifierInput, newlyInitialized: fresh };
}
