import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@ortrain/trainer';
import { describe, expect, it } from 'vitest';
import {
  escapeXml,
  niceTicks,
  openEventLog,
  type Prediction,
  readEventLog,
  renderRunChart,
  saveMetrics,
  speedMetrics,
  writePredictions,
  writeRunChart,
} from '../src/index.js';
import { mrpcLikeHistory } from './history.js';
import { tempDir } from './tmp.js';
import { xmlProblems } from './xml.js';

const read = (path: string) => readFileSync(path, 'utf8');

describe('writeFileAtomic', () => {
  it('creates folders and replaces files, from strings and streamed chunks', () => {
    const path = join(tempDir(), 'a', 'b', 'file.txt');
    writeFileAtomic(path, 'first');
    expect(read(path)).toBe('first');
    writeFileAtomic(path, ['se', 'cond']);
    expect(read(path)).toBe('second');
  });

  it('leaves the old file, and no temporary file, when producing the content fails half-way', () => {
    const dir = tempDir();
    const path = join(dir, 'results.tsv');
    writeFileSync(path, 'old complete content\n');
    function* rows() {
      yield 'index\tprediction\n';
      yield '0\t1\n';
      throw new Error('model crashed at row 2');
    }
    expect(() => writeFileAtomic(path, rows())).toThrow('model crashed at row 2');
    expect(read(path)).toBe('old complete content\n');
    expect(readdirSync(dir)).toEqual(['results.tsv']);
  });
});

describe('saveMetrics', () => {
  it("writes HF's <split>_results.json and merges all_results.json, sorted with four-space indent", async () => {
    const dir = tempDir();
    const train = {
      train_runtime: 252.4031,
      train_samples_per_second: 43.597,
      train_steps_per_second: 5.456,
      train_loss: 0.3914823,
      total_flos: 405114969714960,
      epoch: 3,
    };
    expect(await saveMetrics(dir, 'train', train)).toEqual([
      join(dir, 'train_results.json'),
      join(dir, 'all_results.json'),
    ]);
    // What Python's json.dump(metrics, f, indent=4, sort_keys=True) writes (epoch aside: 3 vs 3.0).
    expect(read(join(dir, 'train_results.json'))).toBe(
      '{\n    "epoch": 3,\n    "total_flos": 405114969714960,\n    "train_loss": 0.3914823,\n' +
        '    "train_runtime": 252.4031,\n    "train_samples_per_second": 43.597,\n    "train_steps_per_second": 5.456\n}\n',
    );
    const evalMetrics = {
      eval_loss: 0.52,
      eval_accuracy: 0.8578431372549019,
      eval_f1: 0.8996539792387543,
      epoch: 3,
    };
    await saveMetrics(dir, 'eval', evalMetrics);
    expect(JSON.parse(read(join(dir, 'eval_results.json')))).toEqual(evalMetrics);
    const all = JSON.parse(read(join(dir, 'all_results.json')));
    expect(all).toEqual({ ...train, ...evalMetrics });
    expect(Object.keys(all)).toEqual(Object.keys(all).sort());
  });

  it('writes a non-finite metric as null and refuses to merge into a broken all_results.json', async () => {
    const dir = tempDir();
    await saveMetrics(dir, 'train', { train_loss: Number.NaN }, false);
    expect(read(join(dir, 'train_results.json'))).toBe('{\n    "train_loss": null\n}\n');
    writeFileSync(join(dir, 'all_results.json'), '{"epoch": 1,');
    await expect(saveMetrics(dir, 'eval', { eval_loss: 1 })).rejects.toThrow(
      /all_results\.json: cannot merge/,
    );
    expect(read(join(dir, 'all_results.json'))).toBe('{"epoch": 1,');
  });

  it("rounds speed metrics like HF's speed_metrics (values from Python's round)", () => {
    expect(speedMetrics('eval', 2.123456, 408, 51)).toEqual({
      eval_runtime: 2.1235,
      eval_samples_per_second: 192.14,
      eval_steps_per_second: 24.017,
    });
    expect(speedMetrics('train', 0, 10, 1)).toEqual({ train_runtime: 0 });
  });
});

describe('event log', () => {
  it('appends one JSON line per event and reads them back', () => {
    const path = join(tempDir(), 'logs', 'events.jsonl');
    let tick = 0;
    const now = () => new Date(Date.UTC(2025, 0, 1, 0, 0, tick++));
    const log = openEventLog(path, { now });
    log.append('train_begin', { total_steps: 1377 });
    log.append('log', { step: 50, loss: 0.61, learning_rate: 4.8e-5 });
    log.close();
    expect(read(path).split('\n')[0]).toBe(
      '{"time":"2025-01-01T00:00:00.000Z","event":"train_begin","total_steps":1377}',
    );
    expect(() => log.append('late')).toThrow(/events\.jsonl: the event log is closed/);

    const resumed = openEventLog(path, { append: true, now });
    resumed.append('train_begin', { resumed_from: 'checkpoint-500' });
    resumed.close();
    expect(readEventLog(path).map((e) => e.event)).toEqual(['train_begin', 'log', 'train_begin']);
    expect(readEventLog(path)[1]).toMatchObject({ step: 50, loss: 0.61 });

    const fresh = openEventLog(path, { now });
    fresh.close();
    expect(readEventLog(path)).toEqual([]);
  });

  it('names the file and line of a broken line', () => {
    const path = join(tempDir(), 'events.jsonl');
    writeFileSync(path, '{"time":"t","event":"log"}\n{"time":"t","ev\n');
    expect(() => readEventLog(path)).toThrow(new RegExp(`${path}:2: not a JSON line`));
    writeFileSync(path, '{"step": 1}\n');
    expect(() => readEventLog(path)).toThrow(`${path}:1: expected an object with "time" and "event"`);
  });
});

describe('writePredictions', () => {
  const labelNames = ['not_equivalent', 'equivalent'];
  const rows: Prediction[] = [
    { index: 0, prediction: 1, probabilities: [0.0312, 0.9688], label: 1 },
    { index: 1, prediction: 0, probabilities: [0.75, 0.25], label: 1 },
  ];

  it('writes the GLUE submission TSV and a details TSV with label names and probabilities', async () => {
    const path = join(tempDir(), 'MRPC.tsv');
    const files = await writePredictions(path, rows, { labelNames });
    expect(files).toEqual({ submission: path, details: path.replace('.tsv', '.details.tsv'), rows: 2 });
    expect(read(path)).toBe('index\tprediction\n0\t1\n1\t0\n');
    expect(read(files.details)).toBe(
      'index\tprediction\tpredicted_label\tprob_not_equivalent\tprob_equivalent\ttrue_label\n' +
        '0\t1\tequivalent\t0.031200\t0.968800\tequivalent\n' +
        '1\t0\tnot_equivalent\t0.750000\t0.250000\tequivalent\n',
    );
  });

  it('uses the submission labels GLUE expects for text-labelled tasks, and omits absent gold labels', async () => {
    const path = join(tempDir(), 'RTE.tsv');
    const unlabelled = rows.map(({ index, prediction, probabilities }) => ({
      index,
      prediction,
      probabilities,
    }));
    const names = ['entailment', 'not_entailment'];
    const files = await writePredictions(path, unlabelled, { labelNames: names, submissionLabels: names });
    expect(read(path)).toBe('index\tprediction\n0\tnot_entailment\n1\tentailment\n');
    expect(read(files.details).split('\n')[0]).toBe(
      'index\tprediction\tpredicted_label\tprob_entailment\tprob_not_entailment',
    );
  });

  it('rejects bad rows by row number before touching existing files', async () => {
    const dir = tempDir();
    const path = join(dir, 'p.tsv');
    writeFileSync(path, 'previous\n');
    const bad: [Prediction, string][] = [
      [
        { index: 5, prediction: 2, probabilities: [0.5, 0.5] },
        'prediction row 1 (index 5): prediction 2 is not a class id in [0, 1]',
      ],
      [{ index: 5, prediction: 0, probabilities: [1] }, '1 probabilities, expected 2 (one per label)'],
      [
        { index: 5, prediction: 0, probabilities: [2.1, -0.3] },
        'probabilities must be in [0, 1] and sum to 1',
      ],
      [{ index: 5, prediction: 0, probabilities: [0.5, 0.5], label: 3 }, 'label 3 is not a class id'],
    ];
    for (const [row, message] of bad) {
      await expect(writePredictions(path, [rows[0]!, row], { labelNames })).rejects.toThrow(message);
    }
    expect(read(path)).toBe('previous\n');
    expect(readdirSync(dir)).toEqual(['p.tsv']);
  });
});

describe('run chart', () => {
  const history = mrpcLikeHistory();
  const svg = renderRunChart(history, {
    title: 'MRPC <bert-base-uncased> & "friends"',
    subtitle: 'accuracy 0.8578',
  });

  it('is well-formed XML with escaped text', () => {
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain('MRPC &#60;bert-base-uncased&#62; &#38; &#34;friends&#34;');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    // The checker itself catches the mistakes it is there for.
    expect(xmlProblems('<svg><g></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a & b</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a < b</text></svg>')).not.toEqual([]);
  });

  it('draws every series with one point per logged value', () => {
    const count = (key: string) => history.filter((e) => e[key] !== undefined).length;
    const series = [
      ...svg.matchAll(/<path class="series" data-series="([^"]+)" data-points="(\d+)" d="([^"]*)"/g),
    ];
    const byName: Record<string, { points: number; d: string }> = Object.fromEntries(
      series.map((m) => [m[1], { points: Number(m[2]), d: m[3]! }]),
    );
    expect(Object.keys(byName)).toEqual([
      'training loss',
      'validation loss',
      'learning rate',
      'accuracy',
      'f1',
    ]);
    expect(byName['training loss']!.points).toBe(count('loss'));
    expect(byName['learning rate']!.points).toBe(count('learning_rate'));
    expect(byName['accuracy']!.points).toBe(3);
    for (const { points, d } of Object.values(byName)) {
      expect(d.match(/[ML]/g)).toHaveLength(points);
    }
    // Speed metrics and the final train summary are not plotted.
    expect(svg).not.toMatch(/data-series="(runtime|samples_per_second|train_loss)"/);
    // Eval points carry hover titles; epochs 1..3 are marked in all three panels.
    expect(svg).toContain('<title>accuracy at step 1377: 0.8578</title>');
    expect(svg.match(/class="epoch"/g)).toHaveLength(9);
  });

  it('maps values onto the axes: higher values are drawn higher, steps left to right', () => {
    const d = svg.match(/data-series="accuracy" data-points="3" d="([^"]*)"/)![1]!;
    const points = [...d.matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(points[0]![0]).toBeLessThan(points[1]![0]!);
    // Accuracy rises 0.8358 -> 0.8529 -> 0.8578, so y (downwards in SVG) falls.
    expect(points[0]![1]).toBeGreaterThan(points[1]![1]!);
    expect(points[1]![1]).toBeGreaterThan(points[2]![1]!);
  });

  it('breaks the line at a non-finite loss and still renders an empty history', () => {
    const diverged = renderRunChart([
      { step: 1, loss: 0.7 },
      { step: 2, loss: Number.NaN },
      { step: 3, loss: 0.9 },
    ]);
    expect(diverged).toMatch(/data-series="training loss" data-points="3" d="M[\d.]+ [\d.]+ M[\d.]+ [\d.]+"/);
    const empty = renderRunChart([]);
    expect(xmlProblems(empty)).toEqual([]);
    expect(empty).toContain('no evaluations logged');
  });

  it('picks round ticks', () => {
    expect(niceTicks(0, 1377, 8, true).ticks).toEqual([0, 200, 400, 600, 800, 1000, 1200, 1400]);
    expect(niceTicks(0.8358, 0.8997, 4).ticks).toEqual([0.82, 0.84, 0.86, 0.88, 0.9]);
    expect(niceTicks(0, 4.8e-5, 4).ticks).toEqual([0, 1e-5, 2e-5, 3e-5, 4e-5, 5e-5]);
    expect(niceTicks(0, 1, 8, true).ticks).toEqual([0, 1]);
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });

  it('writes the file atomically', () => {
    const path = join(tempDir(), 'run.svg');
    writeRunChart(path, history, { title: 'run' });
    expect(xmlProblems(read(path))).toEqual([]);
  });
});
