import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  attr,
  consumers,
  GraphBuilder,
  getInt,
  loadModel,
  type Model,
  type Node,
  numel,
  saveModel,
  tensor,
  topoSort,
} from '@ortrain/graph';
import { writeDirAtomic, writeFileAtomic } from '../atomic.js';
import { readManifest } from '../compiled.js';
import { castToHalf } from '../precision/mixed.js';
import { readSafetensors, writeSafetensors } from '../safetensors.js';
import { hfStateDict } from './state-dict.js';

export interface InferenceExportOptions {
  /** Parameter values to bake in (e.g. the trainer's current weights); default: the artifacts' weights file. */
  weights?: ReadonlyMap<string, Float32Array>;
  /** A tokenizer folder whose files (tokenizer.json, vocab.txt, ...) are copied next to the model. */
  tokenizerDir?: string;
  /** Also write `onnx/model_fp16.onnx` (see {@link halfPrecisionModel}), what transformers.js loads with
   * `dtype: 'fp16'` (optimum's `--dtype fp16`). */
  fp16?: boolean;
  /** Writes the tokenizer files into the folder it is given (a tokenizer object's savePretrained). */
  writeTokenizer?: (dir: string) => void;
}

/** The files of a tokenizer folder: what a model folder carries, downloads and copies for its tokenizer. */
export const TOKENIZER_FILES: readonly string[] = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
];

/**
 * Writes a model folder that `@huggingface/transformers` loads with `pipeline('text-classification', folder)`:
 * `onnx/model.onnx` (the forward graph with the weights as initializers and a `logits` output) and
 * `config.json` (with id2label / label2id), and beside it `model.safetensors` in HF's own names and layout (see
 * {@link hfStateDict}), which `AutoModelForSequenceClassification.from_pretrained(folder)` loads. Returns the
 * ONNX file path.
 */
export function exportInference(
  artifactsDir: string,
  outDir: string,
  options: InferenceExportOptions = {},
): string {
  const manifest = readManifest(artifactsDir);
  const model = loadModel(join(artifactsDir, manifest.graphs.predict.file));
  const g = model.graph;
  const stored = options.weights ? undefined : readSafetensors(join(artifactsDir, manifest.weights));
  for (const p of manifest.parameters) {
    const data = options.weights
      ? options.weights.get(p.name)
      : (stored!.get(p.name)?.data as Float32Array | undefined);
    if (data === undefined) throw new Error(`exportInference: no value for parameter '${p.name}'`);
    const n = numel(p.shape);
    if (data.length !== n)
      throw new Error(
        `exportInference: '${p.name}' has ${data.length} values, shape [${p.shape}] needs ${n}`,
      );
    g.initializers.set(p.name, { name: p.name, dataType: p.dataType, dims: p.shape, data });
  }
  const values = new Map(
    manifest.parameters.map((p) => [p.name, g.initializers.get(p.name)!.data as Float32Array]),
  );
  const params = new Set(values.keys());
  g.inputs = g.inputs.filter((v) => !params.has(v.name));
  // onnx/model.onnx marks a complete export (predict opens the folder by it): it goes first and comes back
  // last, published whole, so a crash leaves the export complete or absent, never a truncated model beside
  // a complete-looking config. Every other file is replaced whole too.
  const onnxDir = join(outDir, 'onnx');
  rmSync(onnxDir, { recursive: true, force: true });
  writeFileAtomic(join(outDir, 'config.json'), readFileSync(join(artifactsDir, 'config.json')));
  writeFileAtomic(join(outDir, 'model.safetensors'), (path) =>
    writeSafetensors(path, hfStateDict(manifest, values), { format: 'pt' }),
  );
  if (options.tokenizerDir !== undefined) {
    for (const f of TOKENIZER_FILES) {
      const from = join(options.tokenizerDir, f);
      if (existsSync(from)) writeFileAtomic(join(outDir, f), readFileSync(from));
    }
  }
  options.writeTokenizer?.(outDir);
  // In order: halfPrecisionModel rewrites the model, after model.onnx is written.
  writeDirAtomic(onnxDir, {
    'model.onnx': (path) => saveModel(model, path),
    ...(options.fp16
      ? { 'model_fp16.onnx': (path: string) => saveModel(halfPrecisionModel(model), path) }
      : {}),
  });
  return join(onnxDir, 'model.onnx');
}

/** ONNX element type codes (Cast's `to`). */
const FLOAT32 = 1;
const FLOAT16 = 10;

/**
 * The inference model in half precision as autocast runs it (MatMul/Gemm and the element-wise work around them
 * in float16; LayerNorm, Softmax and the logits in float32), with every weight read only in half stored as
 * float16, and the embedding tables too (their rows cast to float32 after the Gather, as a float16 checkpoint
 * loaded under autocast would give): about half the file size. Rewrites `model` (parameters are initializers).
 */
function halfPrecisionModel(model: Model): Model {
  const g = model.graph;
  castToHalf(g, 'float16', model.opsets.get('') ?? 17);
  const b = GraphBuilder.forModel(model);
  const readers = consumers(g);
  const toHalf = (n: Node) => n.opType === 'Cast' && getInt(n.attributes, 'to', 0) === FLOAT16;
  for (const [name, t] of [...g.initializers]) {
    const r = readers.get(name) ?? [];
    if (t.dataType !== 'float32' || r.length === 0) continue;
    if (r.length === 1 && toHalf(r[0]!)) {
      g.nodes.splice(g.nodes.indexOf(r[0]!), 1);
      g.initializers.delete(name);
      const half = r[0]!.outputs[0]!;
      g.initializers.set(half, tensor(half, 'float16', t.dims, t.data as Float32Array));
    } else if (r.every((n) => n.opType === 'Gather' && n.inputs[0] === name)) {
      g.initializers.set(name, tensor(name, 'float16', t.dims, t.data as Float32Array));
      for (const gather of r) {
        const rows = gather.outputs[0]!;
        gather.outputs[0] = b.fresh(`${rows}/half`);
        b.op('Cast', [gather.outputs[0]], { to: attr.int(FLOAT32) }, { outputs: [rows] });
      }
    }
  }
  topoSort(g);
  return model;
}
