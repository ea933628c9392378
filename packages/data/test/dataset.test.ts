import { describe, expect, it } from 'vitest';
import { Dataset, DatasetDict, RaggedColumn } from '../src/index.js';

const people = () =>
  Dataset.fromDict({
    name: ['ann', 'bob', 'cat', 'dan', 'eve'],
    age: Int32Array.of(31, 25, 40, 19, 52),
  });

describe('Dataset', () => {
  it('gives length, columns, rows and iteration', () => {
    const ds = people();
    expect(ds.numRows).toBe(5);
    expect(ds.columnNames).toEqual(['name', 'age']);
    expect(ds.row(1)).toEqual({ name: 'bob', age: 25 });
    expect([...ds].map((r) => r.name)).toEqual(['ann', 'bob', 'cat', 'dan', 'eve']);
    expect(() => ds.row(5)).toThrow('row 5 out of range [0, 5)');
    expect(() => ds.column('height')).toThrow('no column "height" (columns: name, age)');
  });

  it('builds from rows and refuses columns of different lengths', () => {
    const ds = Dataset.fromList([{ a: 1, b: 'x' }, { a: 2 }]);
    expect(ds.column('b')).toEqual(['x', null]);
    expect(() => Dataset.fromDict({ a: [1, 2], b: [1] })).toThrow('columns differ in length (2, 1)');
  });

  it('select, filter and shuffle compose index mappings', () => {
    const ds = people();
    const sel = ds.select([4, 0, 2]);
    expect(sel.column('name')).toEqual(['eve', 'ann', 'cat']);
    expect(sel.select([2, 0]).column('age')).toEqual(Int32Array.of(40, 52));
    const adults = ds.filter((r) => (r.age as number) >= 30);
    expect(adults.column('name')).toEqual(['ann', 'cat', 'eve']);
    const a = ds.shuffle({ seed: 42 }).column('name') as string[];
    expect(ds.shuffle({ seed: 42 }).column('name')).toEqual(a);
    expect([...a].sort()).toEqual(['ann', 'bob', 'cat', 'dan', 'eve']);
    expect(ds.shuffle({ seed: 7 }).column('name')).not.toEqual(a);
  });

  it('trainTestSplit partitions the rows', () => {
    const { train, test } = people().trainTestSplit({ testSize: 0.4, seed: 1 }).splits;
    expect(train!.numRows).toBe(3);
    expect(test!.numRows).toBe(2);
    const all = [...(train!.column('name') as string[]), ...(test!.column('name') as string[])];
    expect(all.sort()).toEqual(['ann', 'bob', 'cat', 'dan', 'eve']);
    const ordered = people().trainTestSplit({ testSize: 2, shuffle: false }).get('test');
    expect(ordered.column('name')).toEqual(['dan', 'eve']);
    expect(() => people().trainTestSplit({ testSize: 5 })).toThrow('testSize 5');
  });

  it('renames, removes and casts columns', () => {
    const ds = people().renameColumn('name', 'who').removeColumns(['age']);
    expect(ds.columnNames).toEqual(['who']);
    expect(() => ds.renameColumn('who', 'who')).toThrow('already exists');
    const nums = Dataset.fromDict({ x: ['1.5', '2', ' 3 '] });
    expect(nums.castColumn('x', 'float32').column('x')).toEqual(Float32Array.of(1.5, 2, 3));
    expect(() => nums.castColumn('x', 'int32')).toThrow('dataset:row 0: column "x": "1.5" is not an integer');
    expect(people().castColumn('age', 'string').column('age')).toEqual(['31', '25', '40', '19', '52']);
  });

  it('classEncodeColumn sorts names (numerically when all numbers) and encodes ids', () => {
    const ds = Dataset.fromDict({ label: ['pos', 'neg', 'neutral', 'pos'] }).classEncodeColumn('label');
    expect(ds.features.label!.names).toEqual(['neg', 'neutral', 'pos']);
    expect(ds.column('label')).toEqual(Int32Array.of(2, 0, 1, 2));
    const nums = Dataset.fromDict({ label: ['10', '2', '1', '2'] }).classEncodeColumn('label');
    expect(nums.features.label!.names).toEqual(['1', '2', '10']);
    expect(() => Dataset.fromDict({ label: ['a', ''] }).classEncodeColumn('label')).toThrow(
      'dataset:row 1: column "label": label is empty',
    );
    const other = Dataset.fromDict({ label: ['neg', 'meh'] });
    expect(() => other.castColumn('label', ds.features.label!)).toThrow(
      'row 1: column "label": label "meh": not one of the labels [neg, neutral, pos]',
    );
  });

  it('casts through a selection, keeping the selected order', () => {
    const ds = Dataset.fromDict({ x: ['1', '2', '3'], y: ['a', 'b', 'c'] }).select([2, 0]);
    const cast = ds.castColumn('x', 'int32');
    expect(cast.column('x')).toEqual(Int32Array.of(3, 1));
    expect(cast.column('y')).toEqual(['c', 'a']);
  });

  it('maps rows and batches, packing typed-array cells into ragged columns', () => {
    const ds = people();
    const upper = ds.map((r) => ({ name: String(r.name).toUpperCase() }));
    expect(upper.column('name')).toEqual(['ANN', 'BOB', 'CAT', 'DAN', 'EVE']);
    expect(upper.column('age')).toEqual(ds.column('age'));
    const seen: number[] = [];
    const codes = ds.select([3, 1, 0]).map(
      (b, start) => {
        seen.push(start);
        return { codes: (b.name as string[]).map((n) => Uint16Array.from(n, (ch) => ch.charCodeAt(0))) };
      },
      { batched: true, batchSize: 2, removeColumns: ['name'] },
    );
    expect(seen).toEqual([0, 2]);
    expect(codes.columnNames).toEqual(['age', 'codes']);
    expect(codes.column('age')).toEqual(Int32Array.of(19, 25, 31));
    const col = codes.column('codes') as RaggedColumn;
    expect(col).toBeInstanceOf(RaggedColumn);
    expect(col.values).toBeInstanceOf(Uint16Array);
    expect(Array.from(col.offsets)).toEqual([0, 3, 6, 9]);
    expect(String.fromCharCode(...col.at(0))).toBe('dan');
  });

  it('map may change the row count only once the input columns are removed', () => {
    const ds = Dataset.fromDict({ s: ['a b', 'c'] });
    const split = (b: Record<string, unknown[]>) => ({ w: (b.s as string[]).flatMap((x) => x.split(' ')) });
    expect(() => ds.map(split, { batched: true })).toThrow('returned 3 rows for 2');
    expect(ds.map(split, { batched: true, removeColumns: ['s'] }).column('w')).toEqual(['a', 'b', 'c']);
  });

  it('DatasetDict maps every split', () => {
    const dict = new DatasetDict({ train: people(), test: people().select([0]) });
    const out = dict.map((r) => ({ old: (r.age as number) > 30 }));
    expect(out.get('test').column('old')).toEqual([true]);
    expect(() => out.get('validation')).toThrow('no split "validation" (splits: train, test)');
  });
});
