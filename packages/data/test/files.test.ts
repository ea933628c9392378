import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, loadDataFile } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

describe('parquet', () => {
  it('reads HF glue-style columns (int64 labels, idx) for a task', async () => {
    const p = join(tmp, 'mrpc.parquet');
    parquetWriteFile({
      filename: p,
      columnData: [
        { name: 'sentence1', data: ['A "quoted" one.', 'Second left.'], type: 'STRING' },
        { name: 'sentence2', data: ['First right.', 'Second right.'], type: 'STRING' },
        { name: 'label', data: [1n, 0n], type: 'INT64' },
        { name: 'idx', data: [10, 11], type: 'INT32' },
      ],
    });
    const ds = await loadDataFile(p, { task: 'mrpc', split: 'validation' });
    expect(ds.texts).toEqual([
      ['A "quoted" one.', 'Second left.'],
      ['First right.', 'Second right.'],
    ]);
    expect(ds.labels).toEqual(Int32Array.of(1, 0));
    expect(ds.idx).toEqual(Int32Array.of(10, 11));
    expect(ds.split).toBe('validation');
  });

  it('loads label -1 as unlabeled and reports a bad label by row', async () => {
    const p = join(tmp, 'test.parquet');
    parquetWriteFile({
      filename: p,
      columnData: [
        { name: 'sentence', data: ['a', 'b'], type: 'STRING' },
        { name: 'label', data: [-1, -1], type: 'INT32' },
      ],
    });
    expect((await loadDataFile(p, { task: 'sst2', split: 'test' })).labels).toBeNull();
    const q = join(tmp, 'bad.parquet');
    parquetWriteFile({
      filename: q,
      columnData: [
        { name: 'sentence', data: ['a', 'b'], type: 'STRING' },
        { name: 'label', data: [1, 2], type: 'INT32' },
      ],
    });
    await expect(loadDataFile(q, { task: 'sst2' })).rejects.toThrow(
      /bad\.parquet:row 2: label "2" is not one of/,
    );
  });
});

describe('JSONL', () => {
  it('reads named columns with label names and regression', async () => {
    const p = write('d.jsonl', '{"text":"good","y":"pos"}\n\n{"text":"bad","y":"neg"}\n');
    const ds = await loadDataFile(p, { textColumns: ['text'], labelColumn: 'y', labelNames: ['neg', 'pos'] });
    expect([ds.labels, ds.numLabels, ds.idx]).toEqual([Int32Array.of(1, 0), 2, Int32Array.of(0, 1)]);
    const r = write('r.jsonl', '{"a":"x","b":"y","label":4.5}\n{"a":"x","b":"z","label":0.25}\n');
    const reg = await loadDataFile(r, { textColumns: ['a', 'b'], regression: true });
    expect(reg.labels).toEqual(Float32Array.of(4.5, 0.25));
  });

  it('infers class ids 0..max without label names, and errors on invalid JSON with its line', async () => {
    const p = write('i.jsonl', '{"text":"a","label":2}\n{"text":"b","label":0}\n');
    const ds = await loadDataFile(p, { textColumns: ['text'] });
    expect([ds.numLabels, ds.labels]).toEqual([3, Int32Array.of(2, 0)]);
    const bad = write('bad.jsonl', '{"text":"a","label":1}\n{"text": oops}\n');
    await expect(loadDataFile(bad, { textColumns: ['text'] })).rejects.toThrow(
      /bad\.jsonl:2: invalid JSON line/,
    );
    const skipped = await loadDataFile(bad, { textColumns: ['text'], skipBadRows: true, warn: () => {} });
    expect([skipped.numRows, skipped.skipped]).toEqual([1, 1]);
  });
});

describe('CSV', () => {
  it('handles quoting, BOM and CRLF; names the line of a short row', async () => {
    const p = write('d.csv', '\ufeffsentence,label\r\n"hello, ""world""",1\r\nplain,0\r\n');
    const ds = await loadDataFile(p, { task: 'sst2' });
    expect(ds.texts[0]).toEqual(['hello, "world"', 'plain']);
    expect(ds.labels).toEqual(Int32Array.of(1, 0));
    const bad = write('bad.csv', 'sentence,label\nok,1\nshort\n');
    const err = await loadDataFile(bad, { task: 'sst2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/bad\.csv:3: expected 2 fields, got 1/);
  });

  it('errors when text columns are missing or unknown', async () => {
    const p = write('x.csv', 'a,label\nhi,1\n');
    await expect(loadDataFile(p)).rejects.toThrow(/pass textColumns/);
    await expect(loadDataFile(p, { textColumns: ['sentence'] })).rejects.toThrow(
      /x\.csv:2: empty or missing text in column "sentence"/,
    );
    await expect(loadDataFile(join(tmp, 'x.txt'), { textColumns: ['a'] })).rejects.toThrow(
      /cannot tell the format/,
    );
  });
});
