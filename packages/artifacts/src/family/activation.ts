import type { GraphBuilder } from '@ortrain/graph';
import type { BertConfig } from '../config.js';

/** HF's ACT2FN by name, as torch exports each: gelu (erf), gelu_new (tanh approximation), relu. */
export function addActivation(b: GraphBuilder, x: string, act: BertConfig['hiddenAct']): string {
  const c = (v: number) => b.scalar(v, 'float32');
  if (act === 'relu') return b.op1('Relu', [x]);
  if (act === 'gelu_new') {
    // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
    const cube = b.op1('Mul', [b.op1('Mul', [x, x]), x]);
    const inner = b.op1('Mul', [
      b.op1('Add', [x, b.op1('Mul', [cube, c(0.044715)])]),
      c(Math.sqrt(2 / Math.PI)),
    ]);
    return b.op1('Mul', [b.op1('Mul', [x, c(0.5)]), b.op1('Add', [b.op1('Tanh', [inner]), c(1)])]);
  }
  // x * 0.5 * (1 + erf(x / sqrt(2)))
  const erf = b.op1('Erf', [b.op1('Div', [x, c(Math.SQRT2)])]);
  return b.op1('Mul', [b.op1('Mul', [x, b.op1('Add', [erf, c(1)])]), c(0.5)]);
}
