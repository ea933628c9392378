import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, saveModel } from '@ortrain/graph';
import { describe, expect, it } from 'vitest';
import { importSource } from '../src/import/source.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const ref = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as {
  mlm_encoder_output: string;
};
const opCount = (ops: string[], op: string) => ops.filter((o) => o === op).length;

describe('importing exports as real exporters write them', () => {
  it('opset-14 folded export: LayerNorms fused, anonymous MatMul weights named by their bias, bert. prefix added', () => {
    const enc = importSource(join(fixtures, 'bert_fe_opset14_folded.onnx'));
    const g = enc.model.graph;
    const ops = g.nodes.map((n) => n.opType);
    expect(enc.model.opsets.get('')).toBe(17);
    expect(opCount(ops, 'LayerNormalization')).toBe(5); // embeddings + 2 per layer
    expect(ops).not.toContain('ReduceMean');
    expect(enc.attach).toEqual({ kind: 'pooled', value: 'pooler_output' });
    expect(enc.inputs).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    const names = [...g.initializers.keys()];
    expect(names.filter((n) => n.startsWith('onnx::'))).toEqual([]);
    const q = g.initializers.get('bert.encoder.layer.0.attention.self.query.weight')!;
    expect(q.dims).toEqual([32, 32]);
    expect(enc.transposed.has(q.name)).toBe(true);
    expect(g.initializers.get('bert.encoder.layer.1.intermediate.dense.weight')!.dims).toEqual([32, 64]); // [in, out]
    expect(enc.config.numAttentionHeads).toBe(4); // inferred from the attention scale (no config.json here)
    expect(enc.config.numHiddenLayers).toBe(2);
  });

  it('unfolded opset-17 export: Transpose of each Linear weight is folded into the parameter', () => {
    const folded = importSource(join(fixtures, 'bert_fe_opset14_folded.onnx')).model.graph;
    const enc = importSource(join(fixtures, 'bert_fe_opset17_unfolded.onnx'));
    const g = enc.model.graph;
    const weightTransposes = g.nodes.filter(
      (n) => n.opType === 'Transpose' && n.inputs.some((i) => g.initializers.has(i)),
    );
    expect(weightTransposes).toEqual([]);
    const name = 'bert.encoder.layer.1.output.dense.weight';
    expect(g.initializers.get(name)!.dims).toEqual([64, 32]);
    expect(Array.from(g.initializers.get(name)!.data as Float32Array)).toEqual(
      Array.from(folded.initializers.get(name)!.data as Float32Array),
    );
  });

  it('unties parameters that the exporter deduplicated by value into Identity nodes', () => {
    const enc = importSource(join(fixtures, 'bert_fe_opset14_folded.onnx'));
    const g = enc.model.graph;
    expect(g.nodes.some((n) => n.opType === 'Identity')).toBe(false);
    const a = g.initializers.get('bert.encoder.layer.1.attention.output.LayerNorm.bias')!;
    const b = g.initializers.get('bert.encoder.layer.1.output.LayerNorm.bias')!;
    expect(a.data).not.toBe(b.data);
    expect(Array.from(a.data as Float32Array)).toEqual(Array.from(b.data as Float32Array));
    const readers = (name: string) => g.nodes.filter((n) => n.inputs.includes(name)).length;
    expect(readers(a.name)).toBe(1);
    expect(readers(b.name)).toBe(1);
  });

  it('keeps the classifier of a sequence-classification export', () => {
    const enc = importSource(join(fixtures, 'bert_cls_opset14.onnx'));
    expect(enc.attach.kind).toBe('logits');
    expect(enc.attach.numLabels).toBe(2);
    expect(enc.model.graph.initializers.get('classifier.weight')!.dims).toEqual([2, 32]);
  });

  it('refuses masked-LM logits and says to pass encoderOutput', () => {
    expect(() => importSource(join(fixtures, 'bert_mlm_opset14.onnx'))).toThrow(
      /bert_mlm_opset14\.onnx: output 'logits' has rank 3.*masked-LM or token-classification.*encoderOutput/,
    );
  });

  it('cuts a masked-LM export at the named encoder output, dropping the vocabulary head', () => {
    const enc = importSource(join(fixtures, 'bert_mlm_opset14.onnx'), {
      encoderOutput: ref.mlm_encoder_output,
    });
    const g = enc.model.graph;
    expect(enc.attach).toEqual({ kind: 'sequence', value: ref.mlm_encoder_output });
    expect(g.outputs.map((o) => o.name)).toEqual([ref.mlm_encoder_output]);
    expect([...g.initializers.keys()].some((n) => n.includes('transform') || n.includes('decoder'))).toBe(
      false,
    );
    expect(
      g.nodes.filter((n) => n.opType === 'MatMul' && n.inputs.some((i) => g.initializers.has(i))),
    ).toHaveLength(12);
  });

  it('names a graph input it does not know', () => {
    const model = loadModel(join(fixtures, 'bert_encoder_opset14.onnx'));
    model.graph.inputs.push({
      name: 'position_ids',
      type: { dataType: 'int64', shape: ['batch_size', 'sequence_length'] },
    });
    const path = join(mkdtempSync(join(tmpdir(), 'ortrain-import-')), 'odd.onnx');
    saveModel(model, path);
    expect(() => importSource(path)).toThrow(
      /odd\.onnx: graph input 'position_ids' is not one of input_ids, attention_mask, token_type_ids/,
    );
  });

  it('names a missing encoderOutput', () => {
    expect(() => importSource(join(fixtures, 'bert_mlm_opset14.onnx'), { encoderOutput: 'nope' })).toThrow(
      /encoderOutput 'nope' is not a value computed by the graph/,
    );
  });

  it('builds the forward graph of an HF checkpoint folder with HF names, ignoring pretraining heads', () => {
    const enc = importSource(join(fixtures, 'hf_checkpoint'));
    const g = enc.model.graph;
    // The checkpoint's pooler is passed on to the head (the classifier, which it lacks, will be new).
    expect(enc.attach).toEqual({ kind: 'sequence', value: 'last_hidden_state' });
    expect([...enc.headWeights!.keys()].sort()).toEqual([
      'bert.pooler.dense.bias',
      'bert.pooler.dense.weight',
    ]);
    expect([...g.initializers.keys()].some((n) => n.startsWith('cls.'))).toBe(false);
    expect(enc.unusedWeights!.sort()).toEqual([
      'cls.predictions.bias',
      'cls.predictions.transform.dense.bias',
      'cls.predictions.transform.dense.weight',
    ]);
    expect(g.initializers.get('bert.encoder.layer.0.attention.self.query.weight')!.dims).toEqual([32, 32]);
    expect(enc.config.vocabSize).toBe(128);
  });
});
