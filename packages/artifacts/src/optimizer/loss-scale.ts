import { attr, type GraphBuilder } from '@ortrain/graph';
import type { LossScaling } from '../manifest.js';

/** State names of the dynamic loss scale (GradScaler's `_scale` and `_growth_tracker`). */
export const LOSS_SCALE = 'loss_scale';
export const GROWTH_TRACKER = 'loss_scale.growth_tracker';

/** GradScaler's defaults (torch.cuda.amp.GradScaler). */
export const DEFAULT_LOSS_SCALING: LossScaling = {
  initScale: 2 ** 16,
  growthFactor: 2,
  backoffFactor: 0.5,
  growthInterval: 2000,
};

/**
 * torch's `_amp_update_scale_` in graph ops, from the scalar `finite` (no inf/NaN in this step's gradients):
 * on overflow the scale is multiplied by the backoff factor and the tracker reset; otherwise the tracker counts
 * the clean step and, on reaching the growth interval, the scale is multiplied by the growth factor (unless that
 * overflows float32) and the tracker reset. Writes `loss_scale.new` and `loss_scale.growth_tracker.new`;
 * returns the float32 scalar `found_inf` (1 for a skipped step, GradScaler's found_inf).
 */
export function addLossScaleUpdate(b: GraphBuilder, finite: string, ls: LossScaling): string {
  const scalar = (hint: string, v: number) => b.constant(`loss_scale/${hint}`, 'float32', [], [v]);
  const op = (type: string, inputs: string[], hint: string) =>
    b.op1(type, inputs, {}, { name: b.fresh(`/loss_scale/${hint}`) });
  const zero = scalar('zero', 0);
  const counted = op('Add', [GROWTH_TRACKER, scalar('one', 1)], 'count');
  const grow = op('GreaterOrEqual', [counted, scalar('growth_interval', ls.growthInterval)], 'grow');
  const grown = op('Mul', [LOSS_SCALE, scalar('growth_factor', ls.growthFactor)], 'grown');
  const growable = op('And', [grow, op('Not', [op('IsInf', [grown], 'IsInf')], 'Not')], 'growable');
  const clean = op('Where', [growable, grown, LOSS_SCALE], 'clean');
  const backedOff = op('Mul', [LOSS_SCALE, scalar('backoff_factor', ls.backoffFactor)], 'backoff');
  b.op('Where', [finite, clean, backedOff], {}, { name: '/loss_scale/new', outputs: [`${LOSS_SCALE}.new`] });
  const tracker = op('Where', [grow, zero, counted], 'tracker');
  b.op(
    'Where',
    [finite, tracker, zero],
    {},
    { name: '/loss_scale/tracker/new', outputs: [`${GROWTH_TRACKER}.new`] },
  );
  return b.op1(
    'Cast',
    [op('Not', [finite], 'found_inf')],
    { to: attr.int(1) },
    {
      name: '/loss_scale/found_inf/Cast',
      outputs: ['found_inf'],
    },
  );
}
