import { attr, GraphBuilder, getInt, type Model, topoSort } from '@ortrain/graph';

/**
 * torch.nn.CrossEntropyLoss (mean over the batch) on logits [batch, classes] and int64 labels [batch]:
 * -mean(log_softmax(logits)[i, labels[i]]), the label picked by a one-hot product.
 *
 * With `labelSmoothing` e > 0 it is transformers' LabelSmoother: (1 - e) * nll + e * mean over the batch and the
 * classes of -log p, which is the same product with the one-hot smoothed to e / C off and 1 - e + e / C on.
 *
 * The one-hot is Where(labels == [0, 1, ..., C-1], on, off) rather than OneHot, and the labels are compared as
 * int32: ONNX Runtime's WebGPU EP has no OneHot kernel and runs no int64 kernels, so either would put the
 * node on the CPU (only the label vector's Cast stays there: it reads a host input). LogSoftmax becomes
 * element-wise ops after differentiation (expandLogSoftmax).
 */
export function addCrossEntropy(
  b: GraphBuilder,
  logits: string,
  labels: string,
  numLabels: number,
  labelSmoothing = 0,
): string {
  const logProbs = b.op1('LogSoftmax', [logits], { axis: attr.int(-1) }, { name: '/loss/LogSoftmax' });
  const off = labelSmoothing / numLabels;
  const classes = b.constant('loss_classes', 'int32', [numLabels], [...Array(numLabels).keys()]);
  const label32 = b.op1('Cast', [labels], { to: attr.int(INT32) }, { name: '/loss/labels_int32' });
  const column = b.op1('Unsqueeze', [label32, b.ints([-1])], {}, { name: '/loss/label_column' });
  const isLabel = b.op1('Equal', [column, classes], {}, { name: '/loss/is_label' });
  const oneHot = b.op1(
    'Where',
    [isLabel, b.scalar(1 - labelSmoothing + off, 'float32'), b.scalar(off, 'float32')],
    {},
    { name: '/loss/one_hot' },
  );
  const picked = b.op1('Mul', [oneHot, logProbs], {}, { name: '/loss/Mul' });
  const axes = b.constant('loss_class_axis', 'int64', [1], [1]);
  const perExample = b.op1(
    'ReduceSum',
    [picked, axes],
    { keepdims: attr.int(0) },
    { name: '/loss/ReduceSum' },
  );
  const mean = b.op1('ReduceMean', [perExample], { keepdims: attr.int(0) }, { name: '/loss/ReduceMean' });
  return b.op1('Neg', [mean], {}, { name: '/loss/Neg', outputs: ['loss'] });
}

const INT32 = 6;

/**
 * Replaces each LogSoftmax over the last axis by x - max - log(sum(exp(x - max))), the same arithmetic as ONNX
 * Runtime's CPU kernel, in ops the WebGPU EP has kernels for (it has none for LogSoftmax). It runs after
 * buildGradients, whose LogSoftmax rule reads the output and needs no gradient of the max.
 */
export function expandLogSoftmax(model: Model): void {
  const g = model.graph;
  const targets = g.nodes.filter((n) => n.opType === 'LogSoftmax');
  if (targets.length === 0) return;
  const b = GraphBuilder.forModel(model);
  for (const n of targets) {
    if (b.opset < 13 || getInt(n.attributes, 'axis', -1) !== -1)
      throw new Error(`LogSoftmax node '${n.name}': only the last axis (opset >= 13) is expanded`);
    g.nodes.splice(g.nodes.indexOf(n), 1);
    const x = n.inputs[0]!;
    const shifted = b.op1('Sub', [x, b.reduce('ReduceMax', x, [-1], true)], {}, { name: `${n.name}/shift` });
    const sum = b.reduce('ReduceSum', b.op1('Exp', [shifted], {}, { name: `${n.name}/exp` }), [-1], true);
    const logSum = b.op1('Log', [sum], {}, { name: `${n.name}/log` });
    b.op('Sub', [shifted, logSum], {}, { name: `${n.name}/out`, outputs: [n.outputs[0]!] });
  }
  topoSort(g);
}

/** torch.nn.MSELoss (mean) between logits [batch, 1] squeezed to [batch] and float labels [batch]. */
export function addMse(b: GraphBuilder, logits: string, labels: string): string {
  const shape = b.constant('loss_flat', 'int64', [1], [-1]);
  const predictions = b.op1('Reshape', [logits, shape], {}, { name: '/loss/Reshape' });
  const diff = b.op1('Sub', [predictions, labels], {}, { name: '/loss/Sub' });
  const squared = b.op1('Mul', [diff, diff], {}, { name: '/loss/Mul' });
  return b.op1(
    'ReduceMean',
    [squared],
    { keepdims: attr.int(0) },
    { name: '/loss/ReduceMean', outputs: ['loss'] },
  );
}
