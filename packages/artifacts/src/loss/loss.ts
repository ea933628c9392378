import { attr, type GraphBuilder } from '@ortrain/graph';

/**
 * torch.nn.CrossEntropyLoss (mean over the batch) on logits [batch, classes] and int64 labels [batch]:
 * -mean(log_softmax(logits)[i, labels[i]]), the label picked by a one-hot product.
 *
 * With `labelSmoothing` e > 0 it is transformers' LabelSmoother: (1 - e) * nll + e * mean over the batch and the
 * classes of -log p, which is the same product with the one-hot smoothed to e / C off and 1 - e + e / C on.
 */
export function addCrossEntropy(
  b: GraphBuilder,
  logits: string,
  labels: string,
  numLabels: number,
  labelSmoothing = 0,
): string {
  const logProbs = b.op1('LogSoftmax', [logits], { axis: attr.int(-1) }, { name: '/loss/LogSoftmax' });
  const depth = b.constant('loss_depth', 'int64', [], [numLabels]);
  const off = labelSmoothing / numLabels;
  const onOff = b.constant('loss_one_hot_values', 'float32', [2], [off, 1 - labelSmoothing + off]);
  const oneHot = b.op1('OneHot', [labels, depth, onOff], { axis: attr.int(-1) }, { name: '/loss/OneHot' });
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
