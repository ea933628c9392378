import { attr, type GraphBuilder } from '@ortrain/graph';
import type { OptimizerInfo } from '../manifest.js';

export interface OptimizerParam {
  /** Parameter value (graph input) name; its moments are `<name>.exp_avg` and `<name>.exp_avg_sq`. */
  name: string;
  /** The value holding this parameter's gradient (unclipped). */
  grad: string;
  weightDecay: boolean;
}

/** The graph outputs each parameter gets, in manifest order. */
export function optimizerOutputs(name: string): string[] {
  return [`${name}.new`, `${name}.exp_avg.new`, `${name}.exp_avg_sq.new`];
}

export function momentInputs(name: string): string[] {
  return [`${name}.exp_avg`, `${name}.exp_avg_sq`];
}

/** The optimizer's reading of a loss-scaled gradient (fp16 training, see addLossScaleUpdate). */
export interface ScaledGradients {
  /** The scalar input holding the loss scale the gradients are multiplied by. */
  scale: string;
}

/**
 * Global-norm clipping (torch.nn.utils.clip_grad_norm_) followed by AdamW (torch.optim.AdamW, non-amsgrad), for
 * scalar inputs `learningRate` and `step` (1-based). Returns the pre-clip total norm and, with `scaled`, the
 * boolean scalar saying every gradient is finite.
 *
 * With `scaled` (GradScaler's unscale_ + step): the gradients are divided by the scale (folded into the
 * scalar factors like the clip coefficient), and a step whose gradients hold an inf or NaN is skipped: every
 * scalar factor is switched to the identity update (m' = m, v' = v, p' = p exactly) and the gradient itself
 * replaced by zeros, one Where pass per parameter.
 *
 * Every per-parameter pass costs a full read of a BERT-base-sized tensor, so all scalar factors are folded
 * into scalars first: the clip coefficient c goes into the moment factors ((1-b1)c, (1-b2)c^2) instead of a
 * pass over the gradient, and torch's `denom = sqrt(v)/sqrt(bc2) + eps; p -= lr/bc1 * m/denom` becomes
 * `p -= (lr sqrt(bc2)/bc1) * m/(sqrt(v) + eps sqrt(bc2))` (the same value). That leaves 1 reduction and 13
 * elementwise passes per parameter (12 without decay).
 */
export function addClipAndAdamW(
  b: GraphBuilder,
  params: OptimizerParam[],
  hp: OptimizerInfo,
  learningRate: string,
  step: string,
  scaled?: ScaledGradients,
): { gradNorm: string; finite?: string } {
  if (params.length === 0) throw new Error('the optimizer needs at least one trainable parameter');
  const scalar = (hint: string, v: number) => b.constant(hint, 'float32', [], [v]);
  const op = (type: string, inputs: string[], hint: string) =>
    b.op1(type, inputs, {}, { name: b.fresh(`/optimizer/${hint}`) });
  const one = scalar('one', 1);
  const b1 = scalar('beta1', hp.beta1);
  const b2 = scalar('beta2', hp.beta2);

  // Global norm: sqrt(sum_p sum(g_p^2)), as torch's norm of the per-parameter norms.
  const squares = params.map((p) =>
    b.op1(
      'ReduceSumSquare',
      [p.grad],
      { keepdims: attr.int(0) },
      { name: b.fresh(`/optimizer/norm/${p.name}`) },
    ),
  );
  // A chain of Adds (a variadic Sum's order): WebGPU has no Sum kernel, and the norm would cross to the host.
  const total = squares.reduce((acc, s) => op('Add', [acc, s], 'norm/Add'));
  let gradNorm: string;
  let finite: string | undefined;
  let invScale: string | undefined;
  if (scaled === undefined) {
    gradNorm = b.op1('Sqrt', [total], {}, { name: '/optimizer/norm/Sqrt', outputs: ['grad_norm'] });
  } else {
    // A non-finite element makes the sum of squares non-finite: one scalar test for the whole model.
    finite = op(
      'Not',
      [op('Or', [op('IsInf', [total], 'IsInf'), op('IsNaN', [total], 'IsNaN')], 'Or')],
      'finite',
    );
    invScale = op('Reciprocal', [scaled.scale], 'inv_scale');
    const norm = op('Sqrt', [total], 'norm/Sqrt');
    gradNorm = b.op1(
      'Mul',
      [norm, invScale],
      {},
      { name: '/optimizer/norm/unscale', outputs: ['grad_norm'] },
    );
  }

  // clip_coef = max_norm / (total_norm + 1e-6), clamped to at most 1 (torch multiplies even when it is 1).
  let clip: string | undefined;
  if (hp.maxGradNorm > 0) {
    const denom = op('Add', [gradNorm, scalar('clip_eps', 1e-6)], 'clip/Add');
    const coef = op('Div', [scalar('max_grad_norm', hp.maxGradNorm), denom], 'clip/Div');
    clip = op('Min', [coef, one], 'clip/Min');
  }

  // Bias corrections from the 1-based step: bc1 = 1 - b1^t, bc2 = 1 - b2^t.
  const bc1 = op('Sub', [one, op('Pow', [b1, step], 'bc1/Pow')], 'bc1/Sub');
  const bc2 = op('Sub', [one, op('Pow', [b2, step], 'bc2/Pow')], 'bc2/Sub');
  const sqrtBc2 = op('Sqrt', [bc2], 'bc2/Sqrt');
  const stepSize = op('Div', [op('Mul', [learningRate, sqrtBc2], 'step_size/Mul'), bc1], 'step_size/Div');
  const epsHat = op('Mul', [scalar('epsilon', hp.epsilon), sqrtBc2], 'eps/Mul');
  let mFactor = scalar('one_minus_beta1', 1 - hp.beta1);
  let vFactor = scalar('one_minus_beta2', 1 - hp.beta2);
  const gradFactor =
    clip !== undefined && invScale !== undefined
      ? op('Mul', [clip, invScale], 'unscale/Mul')
      : (clip ?? invScale);
  if (gradFactor !== undefined) {
    mFactor = op('Mul', [mFactor, gradFactor], 'm_factor/Mul');
    vFactor = op('Mul', [vFactor, op('Mul', [gradFactor, gradFactor], 'clip/Square')], 'v_factor/Mul');
  }
  let decay =
    hp.weightDecay !== 0
      ? op(
          'Sub',
          [one, op('Mul', [learningRate, scalar('weight_decay', hp.weightDecay)], 'decay/Mul')],
          'decay/Sub',
        )
      : undefined;
  let beta1 = b1;
  let beta2 = b2;
  let size = stepSize;
  // A skipped step: every factor becomes the identity's, so no per-parameter pass but the gradient's Where.
  const unlessSkipped = (value: string, identity: number, hint: string) =>
    finite === undefined
      ? value
      : op('Where', [finite, value, scalar(`skip/${hint}`, identity)], `skip/${hint}`);
  if (finite !== undefined) {
    beta1 = unlessSkipped(b1, 1, 'beta1');
    beta2 = unlessSkipped(b2, 1, 'beta2');
    mFactor = unlessSkipped(mFactor, 0, 'm_factor');
    vFactor = unlessSkipped(vFactor, 0, 'v_factor');
    size = unlessSkipped(stepSize, 0, 'step_size');
    if (decay !== undefined) decay = unlessSkipped(decay, 1, 'decay');
  }
  const zero = finite === undefined ? undefined : scalar('zero', 0);

  for (const p of params) {
    const [pNew, mNew, vNew] = optimizerOutputs(p.name) as [string, string, string];
    const [m, v] = momentInputs(p.name) as [string, string];
    const at = (hint: string) => ({ name: b.fresh(`/optimizer/${p.name}/${hint}`) });
    const grad = finite === undefined ? p.grad : b.op1('Where', [finite, p.grad, zero!], {}, at('finite'));
    // m' = b1 m + (1-b1) c g
    const mScaled = b.op1('Mul', [m, beta1], {}, at('m/Mul'));
    b.op(
      'Add',
      [mScaled, b.op1('Mul', [grad, mFactor], {}, at('g/Mul'))],
      {},
      { ...at('m/Add'), outputs: [mNew] },
    );
    // v' = b2 v + (1-b2) c^2 g^2
    const vScaled = b.op1('Mul', [v, beta2], {}, at('v/Mul'));
    const g2 = b.op1('Mul', [b.op1('Mul', [grad, grad], {}, at('g2/Mul')), vFactor], {}, at('g2/Scale'));
    b.op('Add', [vScaled, g2], {}, { ...at('v/Add'), outputs: [vNew] });
    // p' = p (1 - lr wd) - step_size' m' / (sqrt(v') + eps')
    const denom = b.op1('Add', [b.op1('Sqrt', [vNew], {}, at('Sqrt')), epsHat], {}, at('denom/Add'));
    const update = b.op1('Mul', [b.op1('Div', [mNew, denom], {}, at('Div')), size], {}, at('update/Mul'));
    const base =
      p.weightDecay && decay !== undefined ? b.op1('Mul', [p.name, decay], {}, at('decay/Mul')) : p.name;
    b.op('Sub', [base, update], {}, { ...at('Sub'), outputs: [pNew] });
  }
  return { gradNorm, ...(finite !== undefined && { finite }) };
}
