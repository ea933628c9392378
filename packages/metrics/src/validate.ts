/** A numeric sequence: a plain array or any typed array (Float32Array, Int32Array, ...). */
export type NumericVector = ArrayLike<number>;

/** Thrown for unusable input; the message names the function, the argument, and the offending index/value. */
export class MetricInputError extends Error {
  override name = 'MetricInputError';
}

export function fail(where: string, message: string): never {
  throw new MetricInputError(`${where}: ${message}`);
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return (
    value !== null && typeof value === 'object' && typeof (value as ArrayLike<unknown>).length === 'number'
  );
}

/** Checks that `value` is a non-empty array of finite numbers. */
export function checkVector(where: string, name: string, value: unknown): asserts value is NumericVector {
  if (!isArrayLike(value)) {
    fail(where, `${name} must be an array or typed array of numbers, got ${describe(value)}`);
  }
  if (value.length === 0) fail(where, `${name} is empty`);
  for (let i = 0; i < value.length; i++) checkNumber(where, `${name}[${i}]`, value[i]);
}

export function checkNumber(where: string, name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') fail(where, `${name} is ${describe(value)}, expected a number`);
  if (!Number.isFinite(value)) fail(where, `${name} is ${value}, expected a finite number`);
}

/** Checks two vectors of finite numbers that pair up element by element. */
export function checkPaired(where: string, aName: string, a: unknown, bName: string, b: unknown): void {
  if (isArrayLike(a) && isArrayLike(b) && a.length !== b.length) {
    fail(where, `${aName} has ${a.length} entries but ${bName} has ${b.length}; they must pair up`);
  }
  checkVector(where, aName, a);
  checkVector(where, bName, b);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'object') return 'an object';
  return value === undefined ? 'undefined' : `${typeof value} ${String(value)}`;
}
