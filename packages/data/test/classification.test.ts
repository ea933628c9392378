import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DataError,
  Dataset,
  DatasetDict,
  filesTask,
  filesTaskName,
  glueTask,
  IterableDataset,
  loadDataset,
  loadDatasetFile,
  prepareClassification,
  scanClassificationStream,
  taskComputeMetrics,
} from '../src/index.js';

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

describe('the task of a run on your files (one concept with the GLUE tasks)', () => {
  it('takes its name from the training file, or its folder when the file is named after a split', () => {
    expect(filesTaskName('data/reviews.csv')).toBe('reviews');
    expect(filesTaskName('/home/me/reviews/train.csv')).toBe('reviews');
    expect(filesTaskName('./Dev.jsonl')).toBe('custom');
    expect(filesTaskName('train.csv')).toBe('custom');
    expect(filesTaskName('C:\\data\\tweets\\validation.tsv')).toBe('tweets');
  });

  it('carries the inferred labels and is scored as run_glue scores files, a GLUE task by its GLUE metric', () => {
    const classes = filesTask('reviews', ['text'], { kind: 'classes', names: ['bad', 'good', 'meh'] });
    expect(classes).toMatchObject({ name: 'reviews', kind: 'files', numLabels: 3, isRegression: false });
    const regression = filesTask('scores', ['a', 'b'], { kind: 'regression' });
    expect(regression).toMatchObject({ kind: 'files', numLabels: 1, isRegression: true, labelNames: [] });
    expect(glueTask('mrpc').kind).toBe('glue');

    const logits = { data: Float32Array.from([2, 0, 0, 0, 2, 0, 0, 0, 2, 2, 0, 0]), shape: [4, 3] as const };
    // predictions 0 1 2 0 against 0 1 1 2: accuracy 1/2; per-class F1 2/3, 2/3, 0 -> macro 4/9.
    const m = taskComputeMetrics(classes)({
      predictions: { ...logits, shape: [4, 3] },
      labelIds: [0, 1, 1, 2],
    });
    expect(m['accuracy']).toBe(0.5);
    expect(m['f1']).toBeCloseTo(4 / 9, 12);
    const r = taskComputeMetrics(regression)({ predictions: [[1], [2], [3]], labelIds: [1, 2, 5] });
    expect(Object.keys(r)).toEqual(['mse', 'pearson', 'spearmanr']);
    expect(r['mse']).toBe(4 / 3);
    const g = taskComputeMetrics(glueTask('mrpc'))({
      predictions: [
        [0, 1],
        [1, 0],
      ],
      labelIds: [1, 1],
    });
    expect(Object.keys(g)).toEqual(['accuracy', 'f1']);
  });
});

describe('scanClassificationStream (a training file read as a stream)', () => {
  const user = (name: string) => join(import.meta.dirname, 'fixtures', 'user', name);
  const scan = (name: string, textColumns: string[], labelColumn = 'label') =>
    scanClassificationStream(IterableDataset.fromFile(user(name), { batchSize: 2 }), {
      textColumns,
      labelColumn,
    });

  it('infers what prepareClassification infers from the loaded file, and counts the rows', async () => {
    for (const [name, textColumns, labelColumn] of [
      ['train.csv', ['text'], 'label'],
      ['rows.jsonl', ['text'], 'label'],
      ['scores.csv', ['premise', 'hypothesis'], 'score'],
    ] as const) {
      const whole = await loadDatasetFile(user(name));
      const prepared = prepareClassification(new DatasetDict({ train: whole }), { textColumns, labelColumn });
      const scanned = await scan(name, [...textColumns], labelColumn);
      expect(scanned.labels, name).toEqual(prepared.labels);
      expect(scanned.rows).toBe(whole.numRows);
    }
  });

  it('refuses bad rows by file, line and column', async () => {
    await expect(scan('empty-text.csv', ['text'])).rejects.toThrow(
      `${user('empty-text.csv')}:3: column "text": text is empty`,
    );
    await expect(scan('bad-labels.csv', ['text'])).rejects.toThrow(
      `${user('bad-labels.csv')}:3: column "label": label is empty`,
    );
    await expect(scan('train.csv', ['sentence'])).rejects.toThrow(
      `${user('train.csv')}:1: no column "sentence"`,
    );
    await expect(scan('ragged.csv', ['text'])).rejects.toThrow(
      `${user('ragged.csv')}:3: expected 2 fields, got 3`,
    );
  });
});
