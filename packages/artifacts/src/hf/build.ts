import { join } from 'node:path';
import { emptyGraph, type Model, type Tensor } from '@ortrain/graph';
import { type BertConfig, readBertConfig } from '../config.js';
import { familyOf } from '../family/registry.js';
import type { ImportedEncoder } from '../import/encoder.js';
import { readSafetensors } from '../safetensors.js';
import { CheckpointGraph } from './checkpoint.js';

/**
 * Builds the forward graph from a Hugging Face checkpoint folder (config.json + model.safetensors) as the
 * family's modeling code computes it, under HF's parameter names, up to the sequence output. The checkpoint's
 * head weights (e.g. a classification checkpoint's) are passed on as `headWeights`; tensors the model does not
 * read (pretraining heads) are reported as unused.
 */
export function importHfCheckpoint(dir: string, config?: BertConfig): ImportedEncoder {
  const cfg = config ?? readBertConfig(join(dir, 'config.json'));
  const family = familyOf(cfg.modelType, join(dir, 'config.json'));
  const file = join(dir, 'model.safetensors');
  const weights = normalizeNames(readSafetensors(file), family.basePrefix, family.bodyModules);
  const g = emptyGraph(family.modelType);
  const ck = new CheckpointGraph(g, weights, cfg, file);
  const seqDims = ['batch_size', 'sequence_length'];
  for (const name of family.inputs) ck.b.addInput({ name, type: { dataType: 'int64', shape: seqDims } });
  // The encoder's last value (read by nothing yet) takes the name exports give it.
  const sequence = family.buildEncoder(ck);
  g.nodes.find((n) => n.outputs[0] === sequence)!.outputs[0] = 'last_hidden_state';
  g.outputs = [{ name: 'last_hidden_state' }];
  const headNames = new Set(family.headParameters(cfg, 1).map(([name]) => name));
  const headWeights = new Map([...weights].filter(([name]) => headNames.has(name)));
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
    inputs: [...family.inputs],
    attach: { kind: 'sequence', value: 'last_hidden_state' },
    transposed: ck.transposed,
    config: cfg,
    source: 'last_hidden_state',
    headWeights,
    unusedWeights: [...weights.keys()].filter((n) => !g.initializers.has(n) && !headNames.has(n)),
  };
}

/** `<prefix>.`-prefixed names (checkpoints saved from the bare base model lack it) and LayerNorm.weight/bias
 * for the legacy gamma/beta. */
function normalizeNames(
  weights: Map<string, Tensor>,
  prefix: string,
  bodyModules: readonly string[],
): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of weights) {
    let n = bodyModules.some((m) => name.startsWith(`${m}.`)) ? `${prefix}.${name}` : name;
    n = n.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
    out.set(n, { ...t, name: n });
  }
  return out;
}
