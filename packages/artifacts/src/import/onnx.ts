import { dirname, join } from 'node:path';
import {
  checkSupported,
  constantValue,
  consumers,
  eliminateIdentities,
  type Graph,
  isFloat,
  loadModel,
  producers,
  prune,
  type Tensor,
  toNumbers,
  upgradeOpset,
} from '@ortrain/graph';
import { type BertConfig, parseBertConfig, readBertConfigIfPresent } from '../config.js';
import type { ModelFamily } from '../family/family.js';
import { familyOf } from '../family/registry.js';
import { transpose2d } from '../tensors.js';
import type { AttachPoint, ImportedEncoder } from './encoder.js';
import { fuseLayerNorms } from './layernorm.js';

export interface OnnxImportOptions {
  /** Cut the graph here: the encoder's last hidden state (or a pooled output), for exports whose outputs are
   * masked-LM or token-classification logits. */
  encoderOutput?: string;
  /** config.json to use; default: config.json beside the model or in its parent folder (Optimum layout). */
  config?: BertConfig;
}

/**
 * Loads a BERT-family ONNX export (torch.onnx.export, Optimum, transformers.js `onnx/model.onnx`) and brings it
 * to the normalized form of {@link ImportedEncoder}, undoing exporter quirks on the way.
 */
export function importOnnx(path: string, options: OnnxImportOptions = {}): ImportedEncoder {
  const model = loadModel(path);
  const g = model.graph;
  const opset = model.opsets.get('') ?? model.opsets.get('ai.onnx') ?? 0;
  if (opset > 17)
    throw new Error(`${path}: opset ${opset} is not supported; re-export with opset_version 14..17`);
  try {
    checkSupported(g);
    upgradeOpset(model, 17); // LayerNormalization needs 17
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  // The family comes from config.json; an export without one is taken for a BERT (geometry inferred below).
  const given =
    options.config ??
    readBertConfigIfPresent(join(dirname(path), 'config.json')) ??
    readBertConfigIfPresent(join(dirname(path), '..', 'config.json'));
  const family = familyOf(given?.modelType ?? 'bert', path);
  const inputs = g.inputs.map((v) => v.name).filter((n) => !g.initializers.has(n));
  for (const name of inputs) {
    if (!family.inputs.includes(name)) {
      throw new Error(
        `${path}: graph input '${name}' is not one of ${family.inputs.join(', ')} (${family.modelType}'s inputs)`,
      );
    }
  }
  if (!inputs.includes('input_ids')) throw new Error(`${path}: the graph has no 'input_ids' input`);

  const attach = findAttachPoint(g, path, options.encoderOutput);
  untieDeduplicatedInitializers(g, family.sharedLayers ?? false);
  eliminateIdentities(g);
  prune(g, [attach.value]);
  fuseLayerNorms(g);
  prune(g, [attach.value]);
  const transposed = foldWeightTransposes(g);
  const renames = nameParameters(g, transposed, family);
  if (attach.classifierInput !== undefined)
    attach.classifierInput = renames.get(attach.classifierInput) ?? attach.classifierInput;
  g.inputs = g.inputs.filter((v) => inputs.includes(v.name));
  const config = given ?? inferConfig(g, path);
  return {
    model,
    inputs: family.inputs.filter((n) => inputs.includes(n)),
    attach,
    transposed,
    config,
    source: attach.value,
  };
}

function rankOf(g: Graph, value: string): number | undefined {
  const info = g.outputs.find((o) => o.name === value) ?? g.valueInfo.get(value);
  return info?.type?.shape?.length;
}

function findAttachPoint(g: Graph, path: string, encoderOutput: string | undefined): AttachPoint {
  const prod = producers(g);
  const outputs = g.outputs.map((o) => o.name);
  if (encoderOutput !== undefined) {
    const p = prod.get(encoderOutput);
    if (p === undefined)
      throw new Error(`${path}: encoderOutput '${encoderOutput}' is not a value computed by the graph`);
    return { kind: p.opType === 'Tanh' ? 'pooled' : 'sequence', value: encoderOutput };
  }
  if (outputs.includes('logits')) {
    const rank = rankOf(g, 'logits');
    if (rank !== 2) {
      throw new Error(
        `${path}: output 'logits' has rank ${rank ?? 'unknown'}, not [batch, num_labels]: this looks like a masked-LM or token-classification head. Pass encoderOutput naming the encoder's last hidden state (the tensor the head reads).`,
      );
    }
    const init = g.initializers;
    const head = prod.get('logits');
    // The classifier: Gemm(x, W, b) or Add(MatMul(x, W), b).
    let input: string | undefined;
    let weight: Tensor | undefined;
    let transB = false;
    if (head?.opType === 'Gemm') {
      input = head.inputs[0];
      weight = init.get(head.inputs[1]!);
      transB = head.attributes['transB']?.value === 1;
    } else if (head?.opType === 'Add') {
      const mm = head.inputs.map((i) => prod.get(i)).find((n) => n?.opType === 'MatMul');
      input = mm?.inputs[0];
      weight = mm && init.get(mm.inputs[1]!);
    }
    if (input === undefined || weight === undefined || weight.dims.length !== 2) {
      throw new Error(
        `${path}: cannot find the classifier (Gemm or MatMul + Add on a weight) that computes 'logits'`,
      );
    }
    return {
      kind: 'logits',
      value: 'logits',
      classifierInput: input,
      numLabels: weight.dims[transB ? 0 : 1]!,
    };
  }
  if (outputs.includes('pooler_output')) return { kind: 'pooled', value: 'pooler_output' };
  if (outputs.includes('last_hidden_state')) return { kind: 'sequence', value: 'last_hidden_state' };
  throw new Error(
    `${path}: outputs [${outputs.join(', ')}] include none of logits, pooler_output, last_hidden_state; pass encoderOutput naming the encoder's last hidden state`,
  );
}

/**
 * torch.onnx.export deduplicates initializers with equal values into one plus `Identity` nodes named after the
 * other parameters. Those were distinct parameters (they diverge once trained), so each Identity of a float
 * initializer becomes its own copy; the remaining Identities are then eliminated.
 */
function untieDeduplicatedInitializers(g: Graph, sharedLayers: boolean): void {
  g.nodes = g.nodes.filter((n) => {
    const source = n.opType === 'Identity' ? g.initializers.get(n.inputs[0]!) : undefined;
    if (source === undefined || !isFloat(source.dataType) || g.outputs.some((o) => o.name === n.outputs[0]))
      return true;
    const name = n.outputs[0]!;
    // With shared layers (ALBERT), constant folding transposes a shared weight once per layer and the copies
    // are deduplicated under anonymous names: those are one parameter, left tied.
    if (sharedLayers && name.startsWith('onnx::')) return true;
    g.initializers.set(name, { ...source, name, data: source.data.slice() as Tensor['data'] });
    return false;
  });
}

function renameValue(g: Graph, from: string, to: string): void {
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
  g.outputs = g.outputs.map((o) => (o.name === from ? { ...o, name: to } : o));
}

/**
 * Unfolded exports compute a Linear as MatMul(x, Transpose(W)). The transpose is folded into the stored
 * parameter, as constant folding does, so that neither the forward nor the backward pays for it. Returns the
 * parameters stored [in, out]: every 2-D float weight read as MatMul's B.
 */
function foldWeightTransposes(g: Graph): Set<string> {
  const cons = consumers(g);
  g.nodes = g.nodes.filter((n) => {
    const w = n.opType === 'Transpose' ? g.initializers.get(n.inputs[0]!) : undefined;
    const perm = n.attributes['perm'];
    if (w === undefined || w.dataType !== 'float32' || w.dims.length !== 2) return true;
    if (perm !== undefined && (perm.type !== 'ints' || perm.value.join() !== '1,0')) return true;
    if ((cons.get(w.name) ?? []).length !== 1) return true;
    g.initializers.set(w.name, transpose2d(w));
    renameValue(g, n.outputs[0]!, w.name);
    return false;
  });
  const transposed = new Set<string>();
  for (const n of g.nodes) {
    const w = n.opType === 'MatMul' ? g.initializers.get(n.inputs[1]!) : undefined;
    if (w !== undefined && isFloat(w.dataType) && w.dims.length === 2) transposed.add(w.name);
  }
  return transposed;
}

/**
 * Gives parameters HF's sequence-classification names: base-model exports lack the family's prefix (`bert.`), and
 * constant folding leaves Linear weights anonymous (`onnx::MatMul_123`); such a weight takes its name from the
 * bias added right after its MatMul (`...query.bias` -> `...query.weight`). Returns old -> new names.
 */
function nameParameters(g: Graph, transposed: Set<string>, family: ModelFamily): Map<string, string> {
  const renames = new Map<string, string>();
  const prod = producers(g);
  const cons = consumers(g);
  const taken = new Set(g.initializers.keys());
  const withPrefix = (name: string) =>
    family.bodyModules.some((m) => name.startsWith(`${m}.`)) ? `${family.basePrefix}.${name}` : name;
  for (const name of [...g.initializers.keys()]) {
    const t = g.initializers.get(name)!;
    if (!isFloat(t.dataType) || t.dims.length === 0) continue;
    let target = withPrefix(name);
    if (transposed.has(name) && !name.endsWith('.weight')) {
      const mm = (cons.get(name) ?? []).find((n) => n.opType === 'MatMul' && n.inputs[1] === name);
      const add = mm && (cons.get(mm.outputs[0]!) ?? []).find((n) => n.opType === 'Add');
      const bias = add?.inputs.find(
        (i) => i !== mm!.outputs[0] && i.endsWith('.bias') && g.initializers.has(i),
      );
      if (bias !== undefined && !prod.has(bias))
        target = withPrefix(`${bias.slice(0, -'.bias'.length)}.weight`);
    }
    if (target === name || taken.has(target)) continue;
    taken.add(target);
    g.initializers.delete(name);
    g.initializers.set(target, { ...t, name: target });
    renameValue(g, name, target);
    if (transposed.delete(name)) transposed.add(target);
    renames.set(name, target);
  }
  return renames;
}

/** BertConfig from the weights' shapes when no config.json is at hand. */
function inferConfig(g: Graph, path: string): BertConfig {
  const dims = (name: string) => g.initializers.get(name)?.dims;
  const words = dims('bert.embeddings.word_embeddings.weight');
  if (words === undefined) {
    throw new Error(
      `${path}: no config.json beside the model and no 'embeddings.word_embeddings.weight' to infer it from`,
    );
  }
  const layers = new Set(
    [...g.initializers.keys()].map((n) => /^bert\.encoder\.layer\.(\d+)\./.exec(n)?.[1]).filter(Boolean),
  );
  const intermediate = dims('bert.encoder.layer.0.intermediate.dense.weight');
  const raw: Record<string, unknown> = {
    model_type: 'bert',
    vocab_size: words[0],
    hidden_size: words[1],
    num_hidden_layers: layers.size,
    num_attention_heads: words[1]! / inferHeadSize(g, path),
    ...(intermediate && { intermediate_size: intermediate[1] }),
    ...(dims('bert.embeddings.position_embeddings.weight') && {
      max_position_embeddings: dims('bert.embeddings.position_embeddings.weight')![0],
    }),
    ...(dims('bert.embeddings.token_type_embeddings.weight') && {
      type_vocab_size: dims('bert.embeddings.token_type_embeddings.weight')![0],
    }),
  };
  return parseBertConfig(raw, `${path} (config inferred from weights)`);
}

/** Attention scores are divided by sqrt(head_size) (or multiplied by its inverse) on their way to Softmax. */
function inferHeadSize(g: Graph, path: string): number {
  const prod = producers(g);
  const scalar = (name: string): number | undefined => {
    const t =
      g.initializers.get(name) ??
      (prod.get(name)?.opType === 'Constant' ? constantValue(prod.get(name)!) : undefined);
    const v = t && t.dataType !== 'string' ? toNumbers(t) : [];
    return v.length === 1 ? v[0] : undefined;
  };
  const softmax = g.nodes.find((n) => n.opType === 'Softmax');
  let value = softmax?.inputs[0];
  for (let depth = 0; value !== undefined && depth < 4; depth++) {
    const n = prod.get(value);
    if (n === undefined) break;
    if (n.opType === 'Div' || n.opType === 'Mul') {
      const c = scalar(n.inputs[1]!);
      if (c !== undefined && c > 0) return Math.round(n.opType === 'Div' ? c * c : 1 / (c * c));
    }
    value = n.inputs.find((i) => prod.has(i));
  }
  throw new Error(
    `${path}: cannot infer num_attention_heads; put config.json beside the model or pass options.config`,
  );
}
