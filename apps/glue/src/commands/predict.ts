/**
 * `pnpm predict`: one row per example of a split (index, prediction, label name, probabilities), GLUE
 * submission style, from a model trained by `pnpm train`.
 */
import {
  createReporter,
  detailsPathFor,
  formatMetrics,
  type Prediction,
  parsePredictArgs,
  writePredictions,
} from '@ortrain/cli';
import {
  type ClassificationTask,
  TextTokenizer,
  type TokenizedDataset,
  tokenizeDataset,
} from '@ortrain/data';
import { softmax } from '@ortrain/metrics';
import { type Trainer, writeFileAtomic } from '@ortrain/trainer';
import { checkOutputLocation, explainWriteError } from '../output-dir.js';
import { modelMetrics } from '../reporting.js';
import { openTrainedSplit, trainerFor, withRunBatchSize } from '../trained.js';

// The GLUE server wants label names for the NLI tasks and class ids for the others.
const NAMED_SUBMISSIONS = new Set(['mnli', 'qnli', 'rte', 'ax']);

export interface WrittenPredictions {
  submission: string;
  details: string;
  rows: number;
  /** `test_*` metrics when the split has labels. */
  metrics?: Record<string, number>;
}

/** Predicts `ds` and writes the submission TSV (and its .details.tsv for classification tasks). */
export async function writeSplitPredictions(
  trainer: Trainer,
  ds: TokenizedDataset,
  target: { task: ClassificationTask; split: string; output: string },
): Promise<WrittenPredictions> {
  const out = await trainer.predict(ds);
  const [rows, cols] = out.shape;
  const labelled = ds.labels !== null;
  const metrics = labelled ? out.metrics : undefined;
  if (target.task.isRegression) {
    // STS-B: the score itself; there are no classes to give probabilities for.
    const lines = ['index\tprediction'];
    for (let i = 0; i < rows; i++) lines.push(`${ds.idx[i]}\t${out.predictions[i]!.toFixed(6)}`);
    writeFileAtomic(target.output, `${lines.join('\n')}\n`);
    return { submission: target.output, details: target.output, rows, ...(metrics && { metrics }) };
  }
  const probs = softmax({ data: out.predictions, shape: [rows, cols] }).data;
  const predictions: Prediction[] = [];
  for (let i = 0; i < rows; i++) {
    const p = Array.from(probs.subarray(i * cols, (i + 1) * cols));
    const label = ds.labels?.[i];
    predictions.push({
      index: ds.idx[i]!,
      prediction: p.indexOf(Math.max(...p)),
      probabilities: p,
      ...(label !== undefined && { label }),
    });
  }
  const labelNames = target.task.labelNames;
  const files = await writePredictions(target.output, predictions, {
    labelNames,
    ...(target.task.kind === 'glue' &&
      NAMED_SUBMISSIONS.has(target.task.name) && { submissionLabels: labelNames }),
  });
  return {
    submission: files.submission,
    details: files.details,
    rows: files.rows,
    ...(metrics && { metrics }),
  };
}

export async function predict(argv: readonly string[]): Promise<number> {
  const parsed = parsePredictArgs(argv);
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return 0;
  }
  const o = parsed.options;
  // Before anything is computed: a folder given as --output, or one that cannot be written, fails now.
  checkOutputLocation('--output', o.output, { file: 'predictions.tsv' });
  checkOutputLocation('--output', detailsPathFor(o.output), { file: 'predictions.details.tsv' });
  const { model, task, raw, split } = await openTrainedSplit(o);
  const tokenizer = await TextTokenizer.fromPretrained(model.tokenizerDir);
  const ds = tokenizeDataset(raw, tokenizer, {
    maxSeqLength: o.max_seq_length ?? model.maxSeqLength ?? tokenizer.modelMaxLength,
    textColumns: task.textColumns,
  });
  const reporter = createReporter();
  const settings = withRunBatchSize(o, model, parsed.sources);
  const trainer = await trainerFor(model, task, settings, reporter, () => split);
  try {
    const written = await writeSplitPredictions(trainer, ds, {
      task,
      split,
      output: o.output,
    }).catch((e: unknown) => {
      throw explainWriteError(
        e,
        `--output ${o.output}`,
        'writing the predictions',
        'each prediction file holds its old content or its new one, whole',
      );
    });
    reporter.close();
    const lines = [`Predictions: ${written.rows} rows of ${task.name} ${split} -> ${written.submission}`];
    if (written.details !== written.submission) lines.push(`Details:     ${written.details}`);
    if (written.metrics) {
      const shown = modelMetrics(written.metrics, 'test');
      lines.push(`Metrics:     ${formatMetrics(shown)} (the split has labels)`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    reporter.close();
    await trainer.close();
  }
}
