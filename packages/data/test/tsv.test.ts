import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DataError,
  GLUE_TASK_NAMES,
  glueTask,
  loadGlueFromDir,
  loadGlueTsv,
  splitLines,
} from '../src/index.js';

const FIX = join(import.meta.dirname, 'fixtures');
const GLUE = join(FIX, 'glue');

describe('GLUE task registry', () => {
  it('covers every GLUE task with HF columns, labels and splits', () => {
    expect(GLUE_TASK_NAMES).toEqual([
      'cola',
      'sst2',
      'mrpc',
      'qqp',
      'stsb',
      'mnli',
      'qnli',
      'rte',
      'wnli',
      'ax',
    ]);
    expect(glueTask('stsb')).toMatchObject({ numLabels: 1, isRegression: true, labelNames: [] });
    expect(glueTask('MNLI').splits).toEqual([
      'train',
      'validation_matched',
      'validation_mismatched',
      'test_matched',
      'test_mismatched',
    ]);
    expect(glueTask('sst-2').textColumns).toEqual(['sentence']);
    expect(glueTask('STS-B').name).toBe('stsb');
    expect(glueTask('qnli').textColumns).toEqual(['question', 'sentence']);
    expect(glueTask('wnli').labelNames).toEqual(['not_entailment', 'entailment']);
    expect(glueTask('ax').splits).toEqual(['test']);
    expect(() => glueTask('squad')).toThrow(/unknown GLUE task "squad"/);
  });
});

describe('splitLines', () => {
  it('strips a BOM, accepts CRLF and ignores the final newline', () => {
    expect(splitLines('\ufeffa\tb\r\nc\td\r\n')).toEqual(['a\tb', 'c\td']);
    expect(splitLines('x\ny')).toEqual(['x', 'y']);
  });
});

describe('GLUE TSV loader on package fixtures', () => {
  it('reads MRPC (BOM + CRLF, Quality/#1 String header) with literal quotes', async () => {
    const ds = await loadGlueFromDir(GLUE, 'mrpc', 'train');
    expect(ds.numRows).toBe(4);
    expect(ds.textColumns).toEqual(['sentence1', 'sentence2']);
    expect(ds.texts[0]![0]).toBe(
      'Amrozi accused his brother, whom he called "the witness", of deliberately distorting his evidence.',
    );
    expect(ds.texts[0]![3]).toBe(
      'Tab shares jumped 20 cents, or 4.6%, to set a record closing high at A$4.57.',
    );
    expect(ds.labels).toEqual(Int32Array.of(1, 0, 1, 0));
    expect(ds.idx).toEqual(Int32Array.of(0, 1, 2, 3));
    const dev = await loadGlueFromDir(join(GLUE, 'MRPC'), 'mrpc', 'validation');
    expect(dev.texts[1]![0]).toBe(
      '"The foodservice pie business does not fit our long-term growth strategy.',
    );
  });

  it('loads test splits without a label column as unlabeled, keeping their index', async () => {
    const ds = await loadGlueFromDir(GLUE, 'mrpc', 'test');
    expect(ds.labels).toBeNull();
    expect(ds.idx).toEqual(Int32Array.of(0, 1));
    const sst = await loadGlueFromDir(GLUE, 'sst2', 'test');
    expect([sst.labels, sst.texts[0]]).toEqual([null, ['uneasy mishmash of styles and genres .']]);
  });

  it('reads header-less CoLA and its headed test file', async () => {
    const ds = await loadGlueFromDir(GLUE, 'cola', 'train');
    expect(ds.texts[0]).toEqual([
      "Our friends won't buy this analysis, let alone the next one we propose.",
      "One more pseudo generalization and I'm giving up.",
      'They drank the pub.',
    ]);
    expect(ds.labels).toEqual(Int32Array.of(1, 1, 0));
    expect((await loadGlueFromDir(GLUE, 'cola', 'test')).labels).toBeNull();
  });

  it('keeps SST-2 trailing spaces and quotes verbatim', async () => {
    const ds = await loadGlueFromDir(GLUE, 'sst2', 'train');
    expect(ds.texts[0]).toEqual([
      'hide new secretions from the parental units ',
      'the greatest musicians ',
      '"quotes" stay literal " ',
    ]);
  });

  it('reads STS-B 10 columns as float32 regression targets', async () => {
    const ds = await loadGlueFromDir(GLUE, 'stsb', 'train');
    expect(ds.labels).toEqual(Float32Array.of(5, 3.8));
    expect(ds.numLabels).toBe(1);
    expect(ds.texts[1]).toEqual(['An air plane is taking off.', 'A man is playing a flute.']);
    expect((await loadGlueFromDir(GLUE, 'stsb', 'test')).labels).toBeNull();
  });

  it('maps GLUE string labels (original RTE layout) to HF ids', async () => {
    const ds = await loadGlueFromDir(GLUE, 'rte', 'train');
    expect(ds.labels).toEqual(Int32Array.of(1, 0));
    expect(ds.texts[1]![0]).toBe('Weapons of Mass Destruction Found in Iraq.');
  });

  it('reads MNLI dev_matched gold_label (not label1) and the unlabeled test_matched', async () => {
    const ds = await loadGlueFromDir(GLUE, 'mnli', 'validation_matched');
    expect(ds.textColumns).toEqual(['premise', 'hypothesis']);
    expect(ds.labels).toEqual(Int32Array.of(1, 2));
    expect(ds.texts[0]![0]).toBe('The new rights are nice enough');
    expect((await loadGlueFromDir(GLUE, 'mnli', 'test_matched')).labels).toBeNull();
    await expect(loadGlueFromDir(GLUE, 'mnli', 'validation')).rejects.toThrow(/no split "validation"/);
  });
});

describe('bad rows', () => {
  const cases: [string, RegExp][] = [
    ['wrong-fields.tsv', /wrong-fields\.tsv:3: expected 2 tab-separated fields, got 3/],
    ['bad-label.tsv', /bad-label\.tsv:3: label "7" is not one of the labels \(0=negative, 1=positive\)/],
    ['empty-text.tsv', /empty-text\.tsv:3: empty or missing text in column "sentence"/],
    ['mixed-labels.tsv', /mixed-labels\.tsv:3: missing label \(or -1\)/],
  ];
  for (const [file, message] of cases) {
    it(`${file}: throws a DataError naming file and line`, async () => {
      const p = loadGlueTsv(join(FIX, 'bad', file), 'sst2', 'train');
      await expect(p).rejects.toThrow(DataError);
      await expect(loadGlueTsv(join(FIX, 'bad', file), 'sst2', 'train')).rejects.toThrow(message);
    });
  }

  it('skips and counts bad rows with skipBadRows, warning once', async () => {
    const warnings: string[] = [];
    const ds = await loadGlueTsv(join(FIX, 'bad', 'wrong-fields.tsv'), 'sst2', 'train', {
      skipBadRows: true,
      warn: (m) => warnings.push(m),
    });
    expect(ds.numRows).toBe(2);
    expect(ds.skipped).toBe(1);
    expect(ds.texts[0]).toEqual(['fine ', 'also fine']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/skipped 1 bad row\(s\); first: .*wrong-fields\.tsv:3/);
  });

  it('names the missing column when the header does not fit the task', async () => {
    await expect(loadGlueTsv(join(GLUE, 'SST-2', 'train.tsv'), 'mrpc', 'train')).rejects.toThrow(
      /train\.tsv:1: header lacks the mrpc text column "sentence1"/,
    );
  });
});
