/**
 * Column storage for Dataset: plain arrays, typed arrays, and ragged columns (one packed typed array of
 * values plus row offsets) for per-row sequences such as token ids — a few bytes per token instead of one
 * JS array per row.
 */

export type PackedValues = Uint8Array | Uint16Array | Int32Array | Float32Array;
type PackedCtor =
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Float32ArrayConstructor;

/** Rows of variable length packed back to back: row `i` is `values[offsets[i] .. offsets[i + 1])`. */
export class RaggedColumn {
  constructor(
    readonly values: PackedValues,
    readonly offsets: Uint32Array,
  ) {}

  get length(): number {
    return this.offsets.length - 1;
  }

  /** Row `i` as a view (no copy). */
  at(i: number): PackedValues {
    return this.values.subarray(this.offsets[i]!, this.offsets[i + 1]!);
  }
}

export type Column = readonly unknown[] | Int32Array | Float32Array | Float64Array | RaggedColumn;

export function cell(c: Column, i: number): unknown {
  return c instanceof RaggedColumn ? c.at(i) : c[i];
}

/** Column `c` restricted to `rows`, keeping its storage kind. */
export function gather(c: Column, rows: ArrayLike<number>): Column {
  const n = rows.length;
  if (c instanceof RaggedColumn) {
    const b = new RaggedBuilder();
    for (let r = 0; r < n; r++) b.push(c.at(rows[r]!));
    return b.build(c.values.constructor as PackedCtor);
  }
  if (Array.isArray(c)) {
    const out = new Array<unknown>(n);
    for (let r = 0; r < n; r++) out[r] = c[rows[r]!];
    return out;
  }
  const typed = c as Int32Array | Float32Array | Float64Array;
  const out = new (typed.constructor as Int32ArrayConstructor)(n);
  for (let r = 0; r < n; r++) out[r] = typed[rows[r]!]!;
  return out;
}

function isPacked(v: unknown): v is PackedValues {
  return (
    v instanceof Uint8Array ||
    v instanceof Uint16Array ||
    v instanceof Int32Array ||
    v instanceof Float32Array
  );
}

/** Appends rows into one growing buffer (doubling), so a million rows cost one allocation per doubling. */
export class RaggedBuilder {
  private values: PackedValues | null = null;
  private offsets = new Uint32Array(1024);
  private rows = 0;
  private used = 0;

  push(row: PackedValues): void {
    if (this.values === null) this.values = new (row.constructor as PackedCtor)(1024);
    if (this.used + row.length > this.values.length) {
      const grown = new (this.values.constructor as PackedCtor)(
        Math.max(this.values.length * 2, this.used + row.length),
      );
      grown.set(this.values);
      this.values = grown;
    }
    this.values.set(row, this.used);
    this.used += row.length;
    if (this.rows + 2 > this.offsets.length) {
      const grown = new Uint32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[++this.rows] = this.used;
  }

  /** The packed column; `empty` is the value type when no row was pushed. */
  build(empty: PackedCtor = Int32Array): RaggedColumn {
    const values = this.values ? this.values.slice(0, this.used) : new empty(0);
    return new RaggedColumn(values, this.offsets.slice(0, this.rows + 1));
  }
}

/** Accumulates one column's values across map batches: typed-array cells become a RaggedColumn. */
export class ColumnBuilder {
  private plain: unknown[] | null = null;
  private ragged: RaggedBuilder | null = null;

  constructor(private readonly name: string) {}

  push(v: unknown): void {
    if (this.plain === null && this.ragged === null) {
      if (isPacked(v)) this.ragged = new RaggedBuilder();
      else this.plain = [];
    }
    if (this.ragged) {
      if (!isPacked(v)) throw new Error(`map: column "${this.name}" mixes typed arrays and other values`);
      this.ragged.push(v);
    } else this.plain!.push(v);
  }

  build(): Column {
    return this.ragged ? this.ragged.build() : (this.plain ?? []);
  }
}
