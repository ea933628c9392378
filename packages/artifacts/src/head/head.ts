import { attr, type GraphBuilder, type Tensor } from '@ortrain/graph';
import { normalGenerator } from './random.js';

/** HF `_init_weights` for a Linear layer: weight ~ N(0, initializer_range), zero bias; weight is [out, in]. */
export function initLinear(
  name: string,
  outFeatures: number,
  inFeatures: number,
  std: number,
  seed: number,
): Tensor[] {
  const normal = normalGenerator(seed);
  const weight = new Float32Array(outFeatures * inFeatures);
  for (let i = 0; i < weight.length; i++) weight[i] = normal() * std;
  return [
    { name: `${name}.weight`, dataType: 'float32', dims: [outFeatures, inFeatures], data: weight },
    { name: `${name}.bias`, dataType: 'float32', dims: [outFeatures], data: new Float32Array(outFeatures) },
  ];
}

/** y = x W^T + b for x [batch, in] with an HF-layout weight [out, in]; one Gemm. */
export function addLinear(b: GraphBuilder, x: string, name: string, output?: string): string {
  const options = { name: `/${name}/Gemm`, ...(output !== undefined && { outputs: [output] }) };
  return b.op1('Gemm', [x, `${name}.weight`, `${name}.bias`], { transB: attr.int(1) }, options);
}

/** BertPooler: tanh(dense(hidden_states[:, 0])). Returns the pooled output [batch, hidden]. */
export function addPooler(b: GraphBuilder, sequenceOutput: string, name = 'bert.pooler.dense'): string {
  const index = b.constant('pooler_first_token', 'int64', [], [0]);
  const first = b.op1(
    'Gather',
    [sequenceOutput, index],
    { axis: attr.int(1) },
    { name: '/bert/pooler/Gather' },
  );
  return b.op1('Tanh', [addLinear(b, first, name)], {}, { name: '/bert/pooler/Tanh' });
}

/** hidden_states[:, 0]: the first token of each row, [batch, hidden]. */
export function firstToken(b: GraphBuilder, sequenceOutput: string): string {
  return b.op1('Gather', [sequenceOutput, b.scalar(0, 'int64')], { axis: attr.int(1) });
}

/**
 * RoBERTa's and ELECTRA's classification head: features[:, 0] -> classifier.dense -> activation ->
 * classifier.out_proj. Returns the out_proj input (where HF's second classifier dropout goes).
 */
export function addDenseHead(
  b: GraphBuilder,
  sequenceOutput: string,
  logits: string,
  activation: (x: string) => string,
): string {
  const x = activation(addLinear(b, firstToken(b, sequenceOutput), 'classifier.dense'));
  addLinear(b, x, 'classifier.out_proj', logits);
  return x;
}

/** The parameters of {@link addDenseHead}, [name, HF shape]. */
export function denseHeadParameters(hidden: number, numLabels: number): [string, number[]][] {
  return [
    ['classifier.dense.weight', [hidden, hidden]],
    ['classifier.dense.bias', [hidden]],
    ['classifier.out_proj.weight', [numLabels, hidden]],
    ['classifier.out_proj.bias', [numLabels]],
  ];
}
