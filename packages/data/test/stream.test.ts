import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  asTokenized,
  DataCollatorWithPadding,
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

describe('IterableDataset.shuffle and collated (streaming into training)', () => {
  // 53 rows `row <i>`: a batch size that does not divide it, labels of three classes.
  const file = join(mkdtempSync(join(tmpdir(), 'ortrain-stream-')), 'rows.csv');
  const N = 53;
  writeFileSync(
    file,
    `text,label\n${Array.from({ length: N }, (_, i) => `row ${i},${'abc'[i % 3]}`).join('\n')}\n`,
  );
  const order = async (ds: IterableDataset, epoch = 0) => {
    const out: number[] = [];
    for await (const b of ds.batches(epoch))
      for (const t of b.columns['text']!) out.push(Number(String(t).slice(4)));
    return out;
  };

  it("is HF's buffer shuffle: a seeded permutation, each row at most bufferSize - 1 places early", async () => {
    const stream = IterableDataset.fromFile(file, { batchSize: 7 });
    const bufferSize = 10;
    const shuffled = stream.shuffle({ seed: 42, bufferSize });
    const a = await order(shuffled);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(a).not.toEqual(await order(stream));
    // A row is read at position i and can leave the buffer no earlier than output position i - bufferSize + 1.
    a.forEach((row, position) => {
      expect(row).toBeLessThanOrEqual(position + bufferSize - 1);
    });
    expect(await order(shuffled)).toEqual(a);
    expect(await order(shuffled, 1)).not.toEqual(a);
    expect(await order(stream.shuffle({ seed: 43, bufferSize }))).not.toEqual(a);
    expect(await order(stream.shuffle({ seed: 42, bufferSize: 1 }))).toEqual(await order(stream));
    // Batches keep the stream's size and source lines follow their rows.
    for await (const b of shuffled.batches()) {
      expect(b.lines.length).toBeLessThanOrEqual(7);
      b.lines.forEach((line, i) => {
        expect(b.columns['text']![i]).toBe(`row ${line - 2}`);
      });
    }
    expect(() => stream.shuffle({ seed: 1, bufferSize: 0 })).toThrow(/bufferSize must be a positive integer/);
  });

  it('collates padded batches equal to collating the loaded file, one batch held at a time', async () => {
    const tok = await TextTokenizer.fromPretrained(join(FIX, 'tiny-bert'));
    const tokenize = tokenizeBatch(tok, { textColumns: ['text'], maxSeqLength: 8 });
    const collator = new DataCollatorWithPadding(tok);
    const labels = { kind: 'classes', names: ['a', 'b', 'c'] } as const;
    const stream = IterableDataset.fromFile(file, { batchSize: 5 }).map(tokenize, {
      removeColumns: ['text'],
    });
    const batches = [];
    for await (const b of stream.collated(collator, {
      batchSize: 8,
      maxLength: 8,
      padTokenId: tok.padTokenId,
      labels,
    })) {
      batches.push(b);
    }
    expect(batches.map((b) => b.dims[0])).toEqual([8, 8, 8, 8, 8, 8, 5]);
    const whole = (await loadDatasetFile(file)).castColumn('label', { names: [...labels.names] });
    const direct = tokenizeDataset(whole, tok, { textColumns: ['text'], maxSeqLength: 8 });
    batches.forEach((b, k) => {
      const rows = Array.from({ length: b.dims[0] }, (_, i) => k * 8 + i);
      const want = collator.collate(direct, rows);
      expect(b.dims).toEqual(want.dims);
      expect(b.inputIds).toEqual(want.inputIds);
      expect(b.attentionMask).toEqual(want.attentionMask);
      expect(b.labels).toEqual(want.labels);
    });
    const unseen = { kind: 'classes', names: ['a', 'b'] } as const;
    const err = await (async () => {
      for await (const _ of stream.collated(collator, {
        batchSize: 8,
        maxLength: 8,
        padTokenId: 0,
        labels: unseen,
      }));
    })().catch((e: unknown) => e);
    expect((err as Error).message).toContain(
      `${file}:4: column "label": label "c": not one of the labels [a, b]`,
    );
  });
});
