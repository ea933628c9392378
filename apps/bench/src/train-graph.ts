import { join } from 'node:path';
import { DROPOUT_SEED, readManifest, readSafetensors } from '@ortrain/artifacts';
import { numel } from '@ortrain/graph';
import * as ort from 'onnxruntime-node';
import { syntheticBatch } from './batches.js';

export interface TrainGraphRun {
  /** The train graph's file (forward, loss, gradients, clipping, AdamW). */
  file: string;
  feeds: Record<string, ort.Tensor>;
  /** Every output; the state it writes into pre-allocated tensors. */
  fetches: Record<string, ort.Tensor | null>;
}

/**
 * What one step of the compiled model in `dir` feeds its train graph on a synthetic batch, for running it
 * through a plain onnxruntime-node session (the profiler's view): parameters from the weights, moments zero.
 */
export function trainGraphRun(
  dir: string,
  shape: { batch: number; seq: number },
  learningRate: number,
): TrainGraphRun {
  const manifest = readManifest(dir);
  const weights = readSafetensors(join(dir, manifest.weights));
  const b = syntheticBatch(shape.batch, shape.seq);
  const ids = [shape.batch, shape.seq];
  const values: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', b.inputIds, ids),
    attention_mask: new ort.Tensor('int64', b.attentionMask, ids),
    token_type_ids: new ort.Tensor('int64', b.tokenTypeIds, ids),
    labels: new ort.Tensor('int64', b.labels!, [shape.batch]),
    learning_rate: new ort.Tensor('float32', Float32Array.of(learningRate), []),
    step: new ort.Tensor('float32', Float32Array.of(1), []),
    [DROPOUT_SEED]: new ort.Tensor('int64', BigInt64Array.of(42n << 32n), []),
  };
  const state = manifest.state.filter((e) => e.readBy.includes('train'));
  for (const e of state) {
    const w = weights.get(e.name)?.data as Float32Array | undefined;
    values[e.name] = new ort.Tensor('float32', w ?? new Float32Array(numel(e.shape)), e.shape);
  }
  const io = manifest.graphs.train;
  const feeds = Object.fromEntries(
    io.inputs.map((n) => {
      const v = values[n];
      if (!v) throw new Error(`train graph input '${n}' has no benchmark value`);
      return [n, v];
    }),
  );
  // Parameters and moments are written into pre-allocated buffers, as the Replica does: a fresh output each
  // run would add page faults that training never pays.
  const fetches: Record<string, ort.Tensor | null> = Object.fromEntries(io.outputs.map((o) => [o, null]));
  for (const e of state.filter((x) => x.writtenBy.includes('train'))) {
    fetches[e.update] = new ort.Tensor('float32', new Float32Array(numel(e.shape)), e.shape);
  }
  return { file: join(dir, io.file), feeds, fetches };
}
