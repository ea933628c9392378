import { describe, expect, it } from 'vitest';
import { families, opSpec, ops } from './registry.js';

describe('op registry', () => {
  it('has one entry per op: no family overrides another', () => {
    const names = families.flatMap((f) => Object.keys(f));
    expect(names.length).toBe(new Set(names).size);
    expect(Object.keys(ops).length).toBe(names.length);
  });

  it('keeps each entry consistent', () => {
    for (const [op, spec] of Object.entries(ops)) {
      const where = `${op}: ${JSON.stringify(Object.keys(spec))}`;
      // Reduction, extra outputs and shapes of gradients only mean something beside a gradient rule.
      if (spec.broadcasts || spec.gradShape || spec.gradOutputs) expect(spec.grad, where).toBeDefined();
      if (spec.gradShape) expect(spec.broadcasts, where).toBeDefined();
      if (spec.differentiable === false) expect(spec.grad, where).toBeUndefined();
      // Packing moves element-wise ops onto packed rows, which needs their output shapes.
      if (spec.elementwise) expect(spec.shape, where).toBeDefined();
    }
  });

  it('knows default-domain nodes only', () => {
    expect(opSpec({ domain: '', opType: 'Add' })).toBe(ops.Add);
    expect(opSpec({ domain: 'ai.onnx', opType: 'Add' })).toBe(ops.Add);
    expect(opSpec({ domain: 'com.microsoft', opType: 'Gelu' })).toBeUndefined();
  });
});
