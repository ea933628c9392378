import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  asTokenized,
  DataError,
  IterableDataset,
  loadDatasetFile,
  TextTokenizer,
  tokenizeBatch,
  tokenizeDataset,
} from '../src/index.js';

const FIX = join(import.meta.dirname, 'fixtures');
const f = (name: string) => join(FIX, 'user', name);

describe('IterableDataset', () => {
  it('streams CSV and JSONL in batches that collect to what loadDatasetFile reads', async () => {
    for (const name of ['train.csv', 'rows.jsonl', 'pairs.tsv', 'records.json']) {
      const stream = IterableDataset.fromFile(f(name), { batchSize: 3 });
      const sizes: number[] = [];
      for await (const b of stream.batches()) sizes.push(b.lines.length);
      const whole = await loadDatasetFile(f(name));
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(whole.numRows);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
      const collected = await stream.collect();
      for (const c of whole.columnNames) expect(collected.column(c)).toEqual(whole.column(c));
    }
  });

  it('maps lazily: tokenizing a stream equals tokenizing the loaded dataset, with source lines kept', async () => {
    const tok = await TextTokenizer.fromPretrained(join(FIX, 'tiny-bert'));
    let calls = 0;
    const mapped = IterableDataset.fromFile(f('train.csv'), { batchSize: 2 }).map(
      (b) => {
        calls++;
        return tokenizeBatch(tok, { textColumns: ['text'], maxSeqLength: 8 })(b);
      },
      { removeColumns: ['text'] },
    );
    expect(calls).toBe(0);
    const ds = (await mapped.collect()).classEncodeColumn('label');
    expect(calls).toBe(2);
    expect(ds.columnNames).toEqual(['label', 'input_ids', 'token_type_ids']);
    const streamed = asTokenized(ds, { maxLength: 8, padTokenId: tok.padTokenId });
    const loaded = (await loadDatasetFile(f('train.csv'))).classEncodeColumn('label');
    const direct = tokenizeDataset(loaded, tok, { textColumns: ['text'], maxSeqLength: 8 });
    expect(streamed.inputIds).toEqual(direct.inputIds);
    expect(streamed.offsets).toEqual(direct.offsets);
    expect(streamed.labels).toEqual(direct.labels);
    expect(() => ds.castColumn('label', { names: ['x'] })).toThrow(`${f('train.csv')}:2: column "label"`);
  });

  it('reports bad files while streaming, by file and line', async () => {
    const cases: [string, string][] = [
      ['ragged.csv', ':3: expected 2 fields, got 3'],
      ['unclosed-quote.csv', ':3: quoting error'],
      ['latin1.csv', ':3: not valid UTF-8'],
      ['empty.csv', ':1: file is empty'],
      ['header-only.csv', ':2: no data rows'],
      ['not-records.json', ':1: not a JSON array of records'],
    ];
    for (const [name, message] of cases) {
      const err = await IterableDataset.fromFile(f(name))
        .collect()
        .catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(DataError);
      expect((err as Error).message).toContain(`${f(name)}${message}`);
    }
  });
});
