import { writeFileAtomic } from '@ortrain/trainer';

export interface Prediction {
  /** The example's index in its split (GLUE's `index`/`idx` column). */
  readonly index: number;
  /** Predicted class id. */
  readonly prediction: number;
  /** Softmax probabilities, one per label. */
  readonly probabilities: readonly number[];
  /** The true class id, when the split has labels. */
  readonly label?: number;
}

export interface PredictionFormat {
  /** Class names in label-id order, e.g. `['not_equivalent', 'equivalent']`. */
  readonly labelNames: readonly string[];
  /**
   * What the GLUE server expects per class in the submission file; defaults to the class id (0/1 for
   * CoLA, SST-2, MRPC, QQP, WNLI). Pass the names for RTE, QNLI, MNLI (`entailment`, ...).
   */
  readonly submissionLabels?: readonly string[];
}

export interface PredictionFiles {
  readonly submission: string;
  readonly details: string;
  readonly rows: number;
}

/** `predictions_test.tsv` -> `predictions_test.details.tsv`. */
export function detailsPathFor(submissionPath: string): string {
  return /\.tsv$/i.test(submissionPath)
    ? submissionPath.replace(/\.tsv$/i, '.details.tsv')
    : `${submissionPath}.details.tsv`;
}

const PROBABILITY_SUM_TOLERANCE = 1e-3;

function check(p: Prediction, row: number, classes: number): void {
  const where = `prediction row ${row} (index ${p.index})`;
  if (!Number.isInteger(p.index)) throw new Error(`${where}: index must be an integer`);
  if (!Number.isInteger(p.prediction) || p.prediction < 0 || p.prediction >= classes) {
    throw new Error(`${where}: prediction ${p.prediction} is not a class id in [0, ${classes - 1}]`);
  }
  if (p.label !== undefined && (!Number.isInteger(p.label) || p.label < 0 || p.label >= classes)) {
    throw new Error(`${where}: label ${p.label} is not a class id in [0, ${classes - 1}]`);
  }
  if (p.probabilities.length !== classes) {
    throw new Error(`${where}: ${p.probabilities.length} probabilities, expected ${classes} (one per label)`);
  }
  // Catches logits passed where probabilities belong.
  const sum = p.probabilities.reduce((a, b) => a + b, 0);
  if (p.probabilities.some((q) => !(q >= 0 && q <= 1)) || Math.abs(sum - 1) > PROBABILITY_SUM_TOLERANCE) {
    throw new Error(
      `${where}: probabilities must be in [0, 1] and sum to 1, got [${p.probabilities.join(', ')}]`,
    );
  }
}

/**
 * Writes predictions as two TSV files, each replaced atomically:
 * - `submission`: `index<TAB>prediction`, the GLUE benchmark's submission format (and what HF's
 *   `run_glue.py` writes);
 * - `details` (`<name>.details.tsv`): `index, prediction, predicted_label, prob_<label>...`, plus
 *   `true_label` when the rows carry labels. Probabilities have six decimals.
 * Every row is checked before anything is written, and errors name the row.
 */
export async function writePredictions(
  submissionPath: string,
  predictions: readonly Prediction[],
  format: PredictionFormat,
): Promise<PredictionFiles> {
  const { labelNames } = format;
  const submissionLabels = format.submissionLabels ?? labelNames.map((_, i) => String(i));
  if (submissionLabels.length !== labelNames.length) {
    throw new Error(`submissionLabels has ${submissionLabels.length} entries, expected ${labelNames.length}`);
  }
  for (const [row, p] of predictions.entries()) check(p, row, labelNames.length);
  const labelled = predictions.some((p) => p.label !== undefined);

  const submission = [
    'index\tprediction',
    ...predictions.map((p) => `${p.index}\t${submissionLabels[p.prediction]}`),
  ];
  const header = ['index', 'prediction', 'predicted_label', ...labelNames.map((n) => `prob_${n}`)];
  if (labelled) header.push('true_label');
  const details = predictions.map((p) => {
    const cells = [String(p.index), String(p.prediction), labelNames[p.prediction]!];
    cells.push(...p.probabilities.map((q) => q.toFixed(6)));
    if (labelled) cells.push(p.label === undefined ? '' : labelNames[p.label]!);
    return cells.join('\t');
  });

  const detailsPath = detailsPathFor(submissionPath);
  writeFileAtomic(submissionPath, `${submission.join('\n')}\n`);
  writeFileAtomic(detailsPath, `${[header.join('\t'), ...details].join('\n')}\n`);
  return { submission: submissionPath, details: detailsPath, rows: predictions.length };
}
