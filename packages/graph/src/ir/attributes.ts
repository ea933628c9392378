import type { Attribute, Graph, Tensor } from './types.js';

/** Typed attribute constructors, so that an integer 1 and a float 1.0 stay distinct as ONNX requires. */
export const attr = {
  int: (value: number): Attribute => ({ type: 'int', value }),
  float: (value: number): Attribute => ({ type: 'float', value }),
  string: (value: string): Attribute => ({ type: 'string', value }),
  ints: (value: number[]): Attribute => ({ type: 'ints', value }),
  floats: (value: number[]): Attribute => ({ type: 'floats', value }),
  strings: (value: string[]): Attribute => ({ type: 'strings', value }),
  tensor: (value: Tensor): Attribute => ({ type: 'tensor', value }),
  graph: (value: Graph): Attribute => ({ type: 'graph', value }),
};

function get(
  attributes: Record<string, Attribute>,
  name: string,
  type: Attribute['type'],
): Attribute | undefined {
  const a = attributes[name];
  if (a !== undefined && a.type !== type) {
    throw new Error(`attribute '${name}' is of type ${a.type}, expected ${type}`);
  }
  return a;
}

export function getInt(attributes: Record<string, Attribute>, name: string, fallback: number): number;
export function getInt(attributes: Record<string, Attribute>, name: string): number | undefined;
export function getInt(attributes: Record<string, Attribute>, name: string, fallback?: number) {
  return (get(attributes, name, 'int')?.value as number | undefined) ?? fallback;
}

export function getFloat(attributes: Record<string, Attribute>, name: string, fallback: number): number;
export function getFloat(attributes: Record<string, Attribute>, name: string): number | undefined;
export function getFloat(attributes: Record<string, Attribute>, name: string, fallback?: number) {
  return (get(attributes, name, 'float')?.value as number | undefined) ?? fallback;
}

export function getInts(attributes: Record<string, Attribute>, name: string): number[] | undefined {
  return get(attributes, name, 'ints')?.value as number[] | undefined;
}

export function getFloats(attributes: Record<string, Attribute>, name: string): number[] | undefined {
  return get(attributes, name, 'floats')?.value as number[] | undefined;
}

export function getString(attributes: Record<string, Attribute>, name: string): string | undefined {
  return get(attributes, name, 'string')?.value as string | undefined;
}

export function getTensor(attributes: Record<string, Attribute>, name: string): Tensor | undefined {
  return get(attributes, name, 'tensor')?.value as Tensor | undefined;
}
