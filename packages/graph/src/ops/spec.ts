import type { GradContext, GradRule } from '../autodiff/context.js';
import type { DataType, Dim, Node } from '../ir/types.js';

/** What a shape rule sees of one node's inputs, and how it records its outputs (see inferShapes). */
export interface ShapeScope {
  /** Input i's static shape, when known. */
  shape(i: number): Dim[] | undefined;
  type(i: number): DataType | undefined;
  /** Elements of input i when it is a small int64 (shape) tensor, symbolic where not constant. */
  value(i: number): Dim[] | undefined;
  /** value(i) when every element is a number. */
  numbers(i: number): number[] | undefined;
  /** Axes from the attribute (older opsets) or the constant second input. */
  axes(): number[] | undefined;
  /** Records output k's type and (when known) shape. */
  set(dataType: DataType | undefined, shape: Dim[] | undefined, k?: number): void;
  /** Records output k's elements as a shape tensor. */
  setValue(value: Dim[], k?: number): void;
}

export type ShapeRule = (node: Node, s: ShapeScope) => void;

/**
 * Recomputes a forward value in the backward pass from a cheaper root: `saved` gives the backward version of
 * an input (itself recomputed when it can be). Returns the recomputation and the value it was computed
 * from, or undefined to keep the forward value (see GradContext.saved).
 */
export type Recompute = (
  node: Node,
  saved: (v: string) => string,
  c: GradContext,
) => { value: string; from: string } | undefined;

/** Everything the compiler knows about one default-domain op: one entry per op in `ops`. */
export interface OpSpec {
  /** Output types and shapes (see inferShapes); absent: outputs stay unknown. */
  shape?: ShapeRule;
  /** Reverse-mode rule (see buildGradients); absent: a node of this op on the path to the loss is refused. */
  grad?: GradRule;
  /** false: outputs never carry a gradient (shapes, indices, masks, comparisons, random values). */
  differentiable?: false;
  /** Computes each output element from the same element of its (broadcast) inputs: packing may run it on rows. */
  elementwise?: true;
  /**
   * Inputs that broadcast into the output. The rule returns their gradients unreduced, shaped like `gradShape`
   * says (the output's shape by default); buildGradients sums each back to its input's shape once.
   */
  broadcasts?: 'all' | readonly number[];
  /** The unreduced shape of input i's gradient (undefined: unknown; false: already the input's shape). */
  gradShape?: (node: Node, i: number, c: GradContext) => Dim[] | undefined | false;
  /**
   * Optional outputs the gradient rule reads, as [output index, name suffix] (Dropout's mask, LayerNorm's
   * statistics): exposeOutputs adds them before differentiation, so rules never change the forward graph.
   */
  gradOutputs?: (node: Node) => [number, string][];
  /** Cheap recomputation of the output in the backward pass, so the forward pass can free it. */
  recompute?: Recompute;
}
