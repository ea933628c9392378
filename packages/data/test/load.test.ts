import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, loadDataset, loadDatasetFile, loadGlueTsv } from '../src/index.js';

const dir = join(import.meta.dirname, 'fixtures', 'user');
const f = (name: string) => join(dir, name);
const tmp = mkdtempSync(join(tmpdir(), 'ortrain-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('loadDataset', () => {
  it('loads CSV splits with quoting, and encodes labels by the train split', async () => {
    const dict = await loadDataset('csv', { dataFiles: { train: f('train.csv'), validation: f('dev.csv') } });
    const train = dict.get('train');
    expect(train.column('text')).toEqual([
      'Great movie, loved it',
      'Terrible plot.',
      'He said "meh".',
      'A fine film.',
    ]);
    const encoded = train.classEncodeColumn('label');
    expect(encoded.features.label!.names).toEqual(['negative', 'neutral', 'positive']);
    const dev = dict.get('validation').castColumn('label', encoded.features.label!);
    expect(dev.column('label')).toEqual(Int32Array.of(2, 0));
  });

  it('loads TSV, JSON records, JSON lines and parquet', async () => {
    const tsv = await loadDatasetFile(f('pairs.tsv'));
    expect(tsv.row(0)).toEqual({ premise: 'A man sleeps.', hypothesis: 'A person rests.', score: '4.2' });
    expect(tsv.castColumn('score', 'float32').column('score')).toEqual(Float32Array.of(4.2, 0.5));
    // The file stays named through casts and selections, for messages about the data.
    expect(tsv.castColumn('score', 'float32').select([1]).sourceFile).toBe(f('pairs.tsv'));
    expect((await loadDatasetFile(f('records.json'))).column('label')).toEqual([1, 0]);
    const jsonl = await loadDataset('jsonl', { dataFiles: f('rows.jsonl') });
    expect(jsonl.get('train').column('text')).toEqual(['one', 'two']);
    const p = join(tmp, 'rows.parquet');
    parquetWriteFile({
      filename: p,
      columnData: [
        { name: 'text', data: ['x', 'y'], type: 'STRING' },
        { name: 'label', data: [1n, 0n], type: 'INT64' },
      ],
    });
    expect((await loadDatasetFile(p)).castColumn('label', 'int32').column('label')).toEqual(
      Int32Array.of(1, 0),
    );
  });

  it('names the line of a label that is empty or unseen in train', async () => {
    const names = { names: ['negative', 'positive'] };
    const ds = await loadDatasetFile(f('bad-labels.csv'));
    expect(() => ds.castColumn('label', names)).toThrow(
      `${f('bad-labels.csv')}:3: column "label": label is empty`,
    );
    expect(() => ds.select([2]).castColumn('label', names)).toThrow(
      `${f('bad-labels.csv')}:4: column "label": label "surprised": not one of the labels [negative, positive]`,
    );
  });
});

describe('bad files', () => {
  const cases: [string, string][] = [
    ['ragged.csv', ':3: expected 2 fields, got 3'],
    ['unclosed-quote.csv', ':3: quoting error: Quote Not Closed'],
    ['latin1.csv', ':3: not valid UTF-8'],
    ['empty.csv', ':1: file is empty'],
    ['header-only.csv', ':2: no data rows'],
    ['not-records.json', ':1: not a JSON array of records'],
  ];
  for (const [name, message] of cases) {
    it(`${name}: ${message}`, async () => {
      const err = await loadDatasetFile(f(name)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toContain(`${f(name)}${message}`);
    });
  }

  it('GLUE TSV refuses a non-UTF-8 file by line', async () => {
    await expect(loadGlueTsv(f('latin1.csv'), 'sst2', 'train')).rejects.toThrow(
      `${f('latin1.csv')}:3: not valid UTF-8`,
    );
  });
});

describe('columns', () => {
  it('a missing column names the file and its header line', async () => {
    const ds = await loadDatasetFile(f('train.csv'));
    expect(() => ds.column('sentence')).toThrow(
      `${f('train.csv')}:1: no column "sentence" (columns: text, label)`,
    );
    const json = await loadDatasetFile(f('records.json'));
    expect(() => json.select([1]).column('premise')).toThrow(
      `${f('records.json')}:row 1: no column "premise"`,
    );
  });
});
