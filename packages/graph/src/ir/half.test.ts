import { describe, expect, it } from 'vitest';
import { fromBfloat16Bits, fromFloat16Bits, toBfloat16Bits, toFloat16Bits } from './half.js';
import { tensor, toNumbers } from './tensor.js';

describe('float16 / bfloat16 bit patterns', () => {
  it('encodes as numpy float16 does (round to nearest even, overflow to inf, subnormals)', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [65520, 0x7c00], // halfway to the next binade rounds up to inf
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000], // halfway to the smallest subnormal rounds to even (zero)
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next half rounds to even
      [Number.POSITIVE_INFINITY, 0x7c00],
    ];
    for (const [x, bits] of cases) expect([x, toFloat16Bits(x)]).toEqual([x, bits]);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN)))).toBe(true);
    for (const x of [0, 1, -2, 0.1, 65504, 2 ** -24])
      expect(fromFloat16Bits(toFloat16Bits(x))).toBeCloseTo(x, 3);
  });

  it('encodes bfloat16 as float32 rounded to its upper half', () => {
    expect(toBfloat16Bits(1)).toBe(0x3f80);
    expect(toBfloat16Bits(-2)).toBe(0xc000);
    expect(toBfloat16Bits(0.1)).toBe(0x3dcd);
    expect(fromBfloat16Bits(toBfloat16Bits(3.140625))).toBe(3.140625);
  });

  it('tensor() and toNumbers() store and read half tensors by value', () => {
    const t = tensor('k', 'float16', [3], [1, 0.5, -3]);
    expect(Array.from(t.data as Uint16Array)).toEqual([0x3c00, 0x3800, 0xc200]);
    expect(toNumbers(t)).toEqual([1, 0.5, -3]);
    expect(toNumbers(tensor('b', 'bfloat16', [2], [1, -0.5]))).toEqual([1, -0.5]);
  });
});
