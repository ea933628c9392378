/**
 * What a text-classification run trains on: a GLUE task (columns, labels and split names exactly as the Hugging
 * Face `glue` dataset `nyu-mll/glue` names them, plus how the original GLUE TSV distribution lays each task out)
 * or your own files (run_glue's `--train_file`), and how each is scored.
 */
import {
  type EvalPrediction,
  fileComputeMetrics,
  type GlueTask as GlueMetricConfig,
  glueComputeMetrics,
} from '@ortrain/metrics';
import type { LabelSpec } from './text-dataset.js';

/**
 * The GLUE tasks, named after the configurations of `evaluate`'s GLUE metric (one list, in metrics): all but
 * MNLI's two halves (splits of mnli here) and HANS (not a GLUE dataset), plus the AX diagnostic set.
 */
export type GlueTaskName = Exclude<GlueMetricConfig, 'mnli_matched' | 'mnli_mismatched' | 'hans'> | 'ax';

/** A text-classification task: a GLUE task or your own files. */
export interface ClassificationTask {
  /** The GLUE task's name, or your files' (see {@link filesTask}). */
  readonly name: string;
  /**
   * How it is scored: `glue`, by `evaluate`'s GLUE metric of `name`; `files`, as run_glue scores files given
   * without a task name (see @ortrain/metrics' `fileComputeMetrics`).
   */
  readonly kind: 'glue' | 'files';
  /** Text column names, one or two. */
  readonly textColumns: readonly string[];
  /** Class names in label-id order; empty for a regression target (stsb). */
  readonly labelNames: readonly string[];
  /** 1 for regression (stsb), else the number of classes. */
  readonly numLabels: number;
  readonly isRegression: boolean;
  /** HF split names. */
  readonly splits: readonly string[];
}

export interface GlueTask extends ClassificationTask {
  readonly name: GlueTaskName;
  readonly kind: 'glue';
  /** Folder name in the original GLUE distribution (e.g. `MRPC`, `SST-2`). */
  readonly glueDir: string;
  /** TSV file (without `.tsv`) holding each HF split in the GLUE distribution. */
  readonly tsvFiles: Readonly<Record<string, string>>;
  /** Header names that may hold each HF text column in a TSV (GLUE name first, then the HF name). */
  readonly tsvTextAliases: Readonly<Record<string, readonly string[]>>;
  /** Header names that may hold the label. */
  readonly tsvLabelAliases: readonly string[];
  /** Column names of a header-less TSV (CoLA train/dev), else undefined. */
  readonly headerless?: readonly string[];
}

/** Header names that may hold the example index in a TSV. */
export const TSV_IDX_ALIASES: readonly string[] = ['idx', 'index', 'id'];

const STD_SPLITS = ['train', 'validation', 'test'] as const;

type TaskSpec = Pick<GlueTask, 'name' | 'glueDir' | 'textColumns' | 'labelNames'> &
  Partial<Omit<GlueTask, 'kind'>>;

/** Fills the defaults most tasks share: train/validation/test from train/dev/test.tsv, a `label` column. */
function define(spec: TaskSpec): GlueTask {
  return {
    kind: 'glue',
    numLabels: spec.labelNames.length,
    isRegression: false,
    splits: STD_SPLITS,
    tsvFiles: { train: 'train', validation: 'dev', test: 'test' },
    tsvTextAliases: Object.fromEntries(spec.textColumns.map((c) => [c, [c]])),
    tsvLabelAliases: ['label'],
    ...spec,
  };
}

const NLI3 = ['entailment', 'neutral', 'contradiction'];
const NLI_TEXT_ALIASES = { premise: ['sentence1', 'premise'], hypothesis: ['sentence2', 'hypothesis'] };

const TASKS: Record<GlueTaskName, GlueTask> = {
  cola: define({
    name: 'cola',
    glueDir: 'CoLA',
    textColumns: ['sentence'],
    labelNames: ['unacceptable', 'acceptable'],
    // GLUE CoLA train/dev: source, label, original annotation, sentence — no header line.
    headerless: ['source', 'label', 'original_label', 'sentence'],
  }),
  sst2: define({
    name: 'sst2',
    glueDir: 'SST-2',
    textColumns: ['sentence'],
    labelNames: ['negative', 'positive'],
  }),
  mrpc: define({
    name: 'mrpc',
    glueDir: 'MRPC',
    textColumns: ['sentence1', 'sentence2'],
    labelNames: ['not_equivalent', 'equivalent'],
    tsvTextAliases: { sentence1: ['#1 String', 'sentence1'], sentence2: ['#2 String', 'sentence2'] },
    tsvLabelAliases: ['Quality', 'label'],
  }),
  qqp: define({
    name: 'qqp',
    glueDir: 'QQP',
    textColumns: ['question1', 'question2'],
    labelNames: ['not_duplicate', 'duplicate'],
    tsvLabelAliases: ['is_duplicate', 'label'],
  }),
  stsb: define({
    name: 'stsb',
    glueDir: 'STS-B',
    textColumns: ['sentence1', 'sentence2'],
    labelNames: [],
    numLabels: 1,
    isRegression: true,
    tsvLabelAliases: ['score', 'label'],
  }),
  mnli: define({
    name: 'mnli',
    glueDir: 'MNLI',
    textColumns: ['premise', 'hypothesis'],
    labelNames: NLI3,
    splits: ['train', 'validation_matched', 'validation_mismatched', 'test_matched', 'test_mismatched'],
    tsvFiles: {
      train: 'train',
      validation_matched: 'dev_matched',
      validation_mismatched: 'dev_mismatched',
      test_matched: 'test_matched',
      test_mismatched: 'test_mismatched',
    },
    tsvTextAliases: NLI_TEXT_ALIASES,
    // MNLI carries label1..label5 annotator votes too; the gold label is the one HF uses.
    tsvLabelAliases: ['gold_label', 'label'],
  }),
  qnli: define({
    name: 'qnli',
    glueDir: 'QNLI',
    textColumns: ['question', 'sentence'],
    labelNames: ['entailment', 'not_entailment'],
  }),
  rte: define({
    name: 'rte',
    glueDir: 'RTE',
    textColumns: ['sentence1', 'sentence2'],
    labelNames: ['entailment', 'not_entailment'],
  }),
  wnli: define({
    name: 'wnli',
    glueDir: 'WNLI',
    textColumns: ['sentence1', 'sentence2'],
    labelNames: ['not_entailment', 'entailment'],
  }),
  ax: define({
    name: 'ax',
    glueDir: 'diagnostic',
    textColumns: ['premise', 'hypothesis'],
    labelNames: NLI3,
    splits: ['test'],
    tsvFiles: { test: 'diagnostic' },
    tsvTextAliases: NLI_TEXT_ALIASES,
  }),
};

export const GLUE_TASK_NAMES: readonly GlueTaskName[] = Object.keys(TASKS) as GlueTaskName[];

/** The registry entry for `name` (case-insensitive; `sst-2`, `sts-b` and GLUE folder names accepted). */
export function glueTask(name: string): GlueTask {
  const key = name.toLowerCase().replace(/-/g, '');
  const task =
    (TASKS as Record<string, GlueTask>)[key] ??
    Object.values(TASKS).find((t) => t.glueDir.toLowerCase() === name.toLowerCase());
  if (!task) throw new Error(`unknown GLUE task "${name}"; expected one of ${GLUE_TASK_NAMES.join(', ')}`);
  return task;
}

/** Throws unless `split` is one of the task's HF split names. */
export function checkSplit(task: GlueTask, split: string): void {
  if (!task.splits.includes(split)) {
    throw new Error(
      `GLUE task ${task.name} has no split "${split}"; expected one of ${task.splits.join(', ')}`,
    );
  }
}

/**
 * The task of a run on your own files: `textColumns`, and the label set inferred from train (or a model's
 * config.json) — class names, or a regression target.
 */
export function filesTask(
  name: string,
  textColumns: readonly string[],
  labels: LabelSpec,
): ClassificationTask {
  const labelNames = labels.kind === 'classes' ? labels.names : [];
  return {
    name,
    kind: 'files',
    textColumns,
    labelNames,
    numLabels: labels.kind === 'regression' ? 1 : labelNames.length,
    isRegression: labels.kind === 'regression',
    splits: STD_SPLITS,
  };
}

/** A split name standing for a file's role rather than its data (`train.csv`): no name for the task. */
const SPLIT_STEMS = /^(train|training|dev|valid|validation|eval|test)$/i;

/**
 * The name a run on your files goes by (summary, chart, default output folder): the training file's name
 * without its extension, else its folder's when the file is just called `train.csv` and the like, else `custom`.
 */
export function filesTaskName(trainFile: string): string {
  const parts = trainFile
    .replace(/\\/g, '/')
    .split('/')
    .filter((p) => p !== '' && p !== '.' && p !== '..');
  const stem = (parts.at(-1) ?? '').replace(/\.[^.]*$/, '');
  if (stem !== '' && !SPLIT_STEMS.test(stem)) return stem;
  return parts.at(-2) ?? 'custom';
}

/** The course's `compute_metrics` for a task: its GLUE metric, or run_glue's for your own files. */
export function taskComputeMetrics(
  task: ClassificationTask,
): (evalPred: EvalPrediction) => Record<string, number> {
  return task.kind === 'glue'
    ? glueComputeMetrics(task.name as GlueMetricConfig)
    : fileComputeMetrics(task.numLabels);
}
