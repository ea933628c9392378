import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, Dataset, DatasetDict, loadDataset, prepareClassification } from '../src/index.js';

const f = (name: string) => join(import.meta.dirname, 'fixtures', 'user', name);

describe('prepareClassification (run_glue with your own files)', () => {
  it('infers sorted class names from train and encodes validation and an unlabeled test split', async () => {
    const dict = await loadDataset('csv', {
      dataFiles: { train: f('train.csv'), validation: f('dev.csv'), test: f('test.csv') },
    });
    const p = prepareClassification(dict, { textColumns: ['text'] });
    expect(p.labels).toEqual({ kind: 'classes', names: ['negative', 'neutral', 'positive'] });
    expect(p.id2label).toEqual({ 0: 'negative', 1: 'neutral', 2: 'positive' });
    expect(p.label2id).toEqual({ negative: 0, neutral: 1, positive: 2 });
    expect(p.splits.get('train').column('label')).toEqual(Int32Array.of(2, 0, 1, 2));
    expect(p.splits.get('validation').column('label')).toEqual(Int32Array.of(2, 0));
    expect(p.splits.get('test').columnNames).toEqual(['text']);
  });

  it('takes non-integer numeric labels as a regression target, keeping only the named columns', async () => {
    const dict = await loadDataset('csv', { dataFiles: f('scores.csv') });
    const p = prepareClassification(dict, { textColumns: ['premise', 'hypothesis'], labelColumn: 'score' });
    expect(p.labels).toEqual({ kind: 'regression' });
    expect(p.id2label).toEqual({});
    const train = p.splits.get('train');
    expect(train.columnNames).toEqual(['premise', 'hypothesis', 'label']);
    expect(train.column('label')).toEqual(Float32Array.of(4.2, 0.5, 3));
  });

  it('encodes with a known label scheme (a trained model), without a train split', async () => {
    const dict = await loadDataset('csv', { dataFiles: { data: f('dev.csv') } });
    const labels = { kind: 'classes', names: ['negative', 'positive'] } as const;
    const p = prepareClassification(dict, { textColumns: ['text'], labels });
    expect(p.splits.get('data').column('label')).toEqual(Int32Array.of(1, 0));
    expect(() =>
      prepareClassification(dict, {
        textColumns: ['text'],
        labels: { kind: 'classes', names: ['positive'] },
      }),
    ).toThrow(`${f('dev.csv')}:3: column "label": label "negative": not one of the labels [positive]`);
  });

  it('integer labels stay classes, sorted numerically', () => {
    const dict = new DatasetDict({ train: Dataset.fromDict({ text: ['a', 'b', 'c'], label: [10, 2, 2] }) });
    expect(prepareClassification(dict, { textColumns: ['text'] }).labels).toEqual({
      kind: 'classes',
      names: ['2', '10'],
    });
  });

  it('names file, line and column for each bad input', async () => {
    const run = async (files: Record<string, string>, textColumns = ['text'], labelColumn = 'label') => {
      const err = await loadDataset('csv', { dataFiles: files })
        .then((dict) => prepareClassification(dict, { textColumns, labelColumn }))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataError);
      return (err as Error).message;
    };
    expect(await run({ train: f('train.csv') }, ['sentence'])).toBe(
      `${f('train.csv')}:1: no column "sentence" (columns: text, label)`,
    );
    expect(await run({ train: f('train.csv') }, ['text'], 'gold')).toBe(
      `${f('train.csv')}:1: no column "gold" (columns: text, label)`,
    );
    expect(await run({ train: f('bad-labels.csv') })).toBe(
      `${f('bad-labels.csv')}:3: column "label": label is empty`,
    );
    expect(await run({ train: f('train.csv'), validation: f('bad-labels.csv') })).toBe(
      `${f('bad-labels.csv')}:3: column "label": label is empty: not one of the labels [negative, neutral, positive]`,
    );
    expect(await run({ train: f('train.csv'), test: f('dev-unseen.csv') })).toBe(
      `${f('dev-unseen.csv')}:3: column "label": label "confused": not one of the labels [negative, neutral, positive]`,
    );
    expect(await run({ train: f('empty-text.csv') })).toBe(
      `${f('empty-text.csv')}:3: column "text": text is empty`,
    );
  });
});
