import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  defaultLoggingDir,
  maskedCrc32c,
  openTensorBoardWriter,
  tensorBoardReporter,
  tensorBoardTag,
  tfRecord,
} from '../src/reports/tensorboard.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-tb-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const fixtures = join(import.meta.dirname, 'fixtures');

const LOGS = [
  { loss: 0.6812, grad_norm: 1.5, learning_rate: 5e-5, epoch: 0.5, step: 3 },
  { eval_loss: 0.65, eval_accuracy: 0.75, eval_runtime: 1.25, epoch: 1, step: 6 },
  { train_runtime: 12.5, train_loss: 0.62, epoch: 1, step: 6 },
];
const ARGS = '{"output_dir": "runs/mrpc", "learning_rate": 5e-05}';

/** A small run written with a fixed clock and host, so its bytes are reproducible. */
function sampleRun(dir: string): string {
  let t = 1_700_000_000;
  const writer = openTensorBoardWriter(dir, { now: () => (t += 0.25), hostname: 'fixture-host' });
  const tb = tensorBoardReporter(writer);
  tb.trainBegin(ARGS);
  for (const entry of LOGS) tb.log(entry);
  tb.close();
  return writer.path;
}

describe('TensorBoard event files', () => {
  it('masks CRC32C as TFRecord does (check value of "123456789" is 0xe3069283)', () => {
    const crc = 0xe3069283;
    const expected = (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
    expect(maskedCrc32c(new TextEncoder().encode('123456789'))).toBe(expected);
    const record = tfRecord(Uint8Array.of(1, 2, 3));
    expect(record.length).toBe(19);
    expect(new DataView(record.buffer).getBigUint64(0, true)).toBe(3n);
  });

  it('writes the bytes an independent reader decodes to the logged scalars and the args text', () => {
    const path = sampleRun(join(tmp, 'sample'));
    expect(path).toMatch(/events\.out\.tfevents\.1700000000\.fixture-host\.\d+\.0$/);
    const bytes = readFileSync(path);
    if (process.env['ORTRAIN_WRITE_FIXTURES']) writeFileSync(join(fixtures, 'sample.tfevents'), bytes);
    // The committed file is what scripts/read_tfevents.py (python3-protobuf, its own CRC) decoded.
    expect(bytes.equals(readFileSync(join(fixtures, 'sample.tfevents')))).toBe(true);
    const decoded = JSON.parse(readFileSync(join(fixtures, 'tensorboard.json'), 'utf8'));
    expect(decoded[0]).toEqual({ wall_time: 1_700_000_000.5, step: 0, file_version: 'brain.Event:2' });
    expect(decoded[1]).toMatchObject({
      step: 0,
      texts: [{ tag: 'args/text_summary', plugin: 'text', dtype: 7, shape: [1], text: [ARGS] }],
    });
    const scalars = decoded.slice(2).map((e: { step: number; scalars: { tag: string; value: number }[] }) => {
      expect(e.scalars).toHaveLength(1);
      return [e.step, e.scalars[0]!.tag, e.scalars[0]!.value];
    });
    const expected = LOGS.flatMap(({ step, ...rest }) =>
      Object.entries(rest).map(([k, v]) => [step, tensorBoardTag(k), Math.fround(v)]),
    );
    expect(scalars).toEqual(expected);
    expect(scalars.map((s: unknown[]) => s[1])).toContain('eval/accuracy');
    expect(scalars.map((s: unknown[]) => s[1])).toContain('train/learning_rate');
  });

  it("names tags and the default logging_dir as HF's TensorBoardCallback and TrainingArguments", () => {
    expect(['loss', 'eval_loss', 'test_f1', 'epoch'].map(tensorBoardTag)).toEqual([
      'train/loss',
      'eval/loss',
      'test/f1',
      'train/epoch',
    ]);
    const dir = defaultLoggingDir('out', new Date(2026, 11, 2, 9, 5, 7), 'box');
    expect(dir).toBe(join('out', 'runs', 'Dec02_09-05-07_box'));
  });

  it('refuses writes after close, and a second writer starts a second file', () => {
    const dir = join(tmp, 'two');
    const w = openTensorBoardWriter(dir, { now: () => 1, hostname: 'h' });
    w.close();
    expect(() => w.addScalar('train/loss', 1, 1)).toThrow(/the TensorBoard writer is closed/);
    expect(readdirSync(dir)).toHaveLength(1);
  });
});
