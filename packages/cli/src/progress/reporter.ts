import type { LogEntry } from '@ortrain/trainer';
import cliProgress from 'cli-progress';
import { isRunMetric } from '../reports/results.js';
import {
  formatCount,
  formatDuration,
  formatLearningRate,
  formatMetric,
  formatMetrics,
  shellQuote,
} from './format.js';

/** Where the reporter writes: `process.stdout` or anything with `write` (tests pass a collector). */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ReporterOptions {
  /** Defaults to `process.stdout`. */
  readonly stream?: OutputStream;
  /** Live bars when true, plain log lines when false; defaults to `stream.isTTY`. */
  readonly isTTY?: boolean;
  /** Milliseconds clock for rates and ETAs; defaults to `performance.now`. */
  readonly now?: () => number;
  /** Without a TTY, a progress line each time this fraction of the steps passes (default 0.1). */
  readonly plainEvery?: number;
}

export interface ModelGeometry {
  readonly layers: number;
  readonly hiddenSize: number;
  readonly heads: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
}

/** What `trainingStarted` prints before the first step. */
export interface TrainingSummary {
  readonly task: string;
  readonly labelNames?: readonly string[];
  /** Examples per split, e.g. `{ train: 3668, validation: 408, test: 1725 }`. */
  readonly splits: Readonly<Record<string, number>>;
  /** The model as the user named it (`bert-base-uncased`, a folder, an ONNX file). */
  readonly model: string;
  /** e.g. `BertForSequenceClassification`; used in the newly-initialized warning. */
  readonly architecture: string;
  readonly geometry: ModelGeometry;
  readonly totalParameters: number;
  readonly trainableParameters: number;
  readonly device: string;
  /** Why this device: `--device cpu`, `auto: CUDA execution provider is available`, ... */
  readonly deviceReason: string;
  readonly threads?: number;
  /** Weights the checkpoint did not have (the classifier head), as HF lists them. */
  readonly newlyInitialized: readonly string[];
  readonly numExamples: number;
  readonly numEpochs: number;
  readonly perDeviceBatchSize: number;
  readonly gradientAccumulationSteps: number;
  readonly totalSteps: number;
  readonly outputDir: string;
  readonly resumedFrom?: { readonly checkpoint: string; readonly step: number };
}

/** One optimizer step done. */
export interface StepUpdate {
  readonly step: number;
  readonly epoch: number;
  /** The latest training loss known, if any (HF only knows it at logging steps). */
  readonly loss?: number;
  readonly learningRate?: number;
}

export interface EvaluationStart {
  /** Shown before the bar or line: `eval` (default) or `predict`. */
  readonly label?: string;
  readonly split: string;
  readonly batches: number;
  readonly examples: number;
}

export interface EvaluationResult {
  readonly split: string;
  readonly step: number;
  readonly epoch: number;
  /** HF-style metrics: `eval_loss`, `eval_accuracy`, `eval_f1`, `eval_runtime`, ... */
  readonly metrics: Readonly<Record<string, number>>;
}

/** What `trainingFinished` prints. */
export interface TrainingResult {
  readonly globalStep: number;
  readonly epoch: number;
  readonly trainRuntime: number;
  readonly trainSamplesPerSecond: number;
  readonly trainStepsPerSecond: number;
  readonly trainLoss: number;
  /** Metrics of the final model, e.g. the last evaluation's. */
  readonly finalMetrics?: Readonly<Record<string, number>>;
  readonly metricsSplit?: string;
  readonly outputDir: string;
  /** Where the final model is (the output dir itself with HF's layout). */
  readonly modelDir: string;
  readonly checkpoints: readonly string[];
  readonly bestCheckpoint?: string;
  /** Files written, e.g. `all_results.json`, `run.svg`. */
  readonly files: readonly string[];
  /** Saved options (see `saveOptions`); enables the resume command. */
  readonly configFile?: string;
  /** The `--data` the run used, for the predict command. */
  readonly data?: string;
}

export interface ProgressReporter {
  trainingStarted(summary: TrainingSummary): void;
  step(update: StepUpdate): void;
  /** A training log entry (loss, grad_norm, learning_rate); evaluations go to `evaluationFinished`. */
  log(entry: LogEntry): void;
  evaluationStarted(start: EvaluationStart): void;
  evaluationStep(batchesDone: number): void;
  evaluationFinished(result: EvaluationResult): void;
  checkpointSaved(path: string, step: number): void;
  message(text: string): void;
  trainingFinished(result: TrainingResult): void;
  /** Stops live bars (idempotent); call it on error paths too so the terminal is left clean. */
  close(): void;
}

/** A piece of a bar's detail; `givesWay` orders which go first on a narrow terminal (absent: always shown). */
interface DetailPart {
  readonly text: string;
  readonly givesWay?: number;
}

interface BarPayload {
  readonly label: string;
  readonly parts: readonly DetailPart[];
}

/** Bar widths tried, widest first, before detail parts give way. */
const BAR_WIDTHS = [24, 8];

const joinParts = (parts: readonly DetailPart[]) => parts.map((p) => p.text).join(' | ');

export function createReporter(options: ReporterOptions = {}): ProgressReporter {
  return new Reporter(options);
}

class Reporter implements ProgressReporter {
  private readonly stream: OutputStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly plainEvery: number;
  private multibar: cliProgress.MultiBar | undefined;
  private trainBar: cliProgress.SingleBar | undefined;
  private evalBar: cliProgress.SingleBar | undefined;
  private totalSteps = 0;
  private startStep = 0;
  private startTime = 0;
  private lastStep: StepUpdate | undefined;
  private nextPlainFraction = 0;
  private evalStart: { label: string; batches: number; time: number } | undefined;
  private readonly evalRows: EvaluationResult[] = [];
  private readonly lossLog: { step: number; loss: number }[] = [];

  constructor(options: ReporterOptions) {
    this.stream = options.stream ?? process.stdout;
    this.tty = options.isTTY ?? this.stream.isTTY === true;
    this.now = options.now ?? (() => performance.now());
    this.plainEvery = options.plainEvery ?? 0.1;
  }

  /** Prints whole lines; above the live bars while they run. */
  private print(text: string): void {
    if (this.multibar) {
      this.multibar.log(`${text}\n`);
      this.multibar.update();
    } else this.stream.write(`${text}\n`);
  }

  trainingStarted(s: TrainingSummary): void {
    this.totalSteps = s.totalSteps;
    this.startStep = s.resumedFrom?.step ?? 0;
    this.startTime = this.now();
    this.nextPlainFraction =
      this.plainEvery * (Math.floor(this.startStep / s.totalSteps / this.plainEvery) + 1);
    const g = s.geometry;
    const labels = s.labelNames?.length ? ` (${s.labelNames.length} labels: ${s.labelNames.join(', ')})` : '';
    const splits = Object.entries(s.splits)
      .map(([name, n]) => `${name} ${formatCount(n)}`)
      .join(' | ');
    const lines = [
      `Task:        ${s.task}${labels}`,
      `Data:        ${splits}`,
      `Model:       ${s.model}: ${s.architecture}, ${g.layers} layers, hidden ${g.hiddenSize}, ${g.heads} heads, ` +
        `FFN ${g.intermediateSize}, vocab ${formatCount(g.vocabSize)}, max positions ${g.maxPositions}, ` +
        `${formatCount(s.totalParameters)} parameters`,
      `Device:      ${s.device}${s.threads ? `, ${s.threads} threads` : ''} (${s.deviceReason})`,
      `Output:      ${s.outputDir}`,
    ];
    if (s.resumedFrom) {
      lines.push(`Resuming:    ${s.resumedFrom.checkpoint} at step ${formatCount(s.resumedFrom.step)}`);
    }
    if (s.newlyInitialized.length > 0) {
      // Hugging Face's wording, so course readers recognise it.
      const names = s.newlyInitialized.map((n) => `'${n}'`).join(', ');
      lines.push(
        '',
        `Some weights of ${s.architecture} were not initialized from the model checkpoint at ${s.model} ` +
          `and are newly initialized: [${names}]`,
        'You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.',
      );
    }
    lines.push(
      '',
      '***** Running training *****',
      `  Num examples = ${formatCount(s.numExamples)}`,
      `  Num Epochs = ${formatCount(s.numEpochs)}`,
      `  Instantaneous batch size per device = ${formatCount(s.perDeviceBatchSize)}`,
      `  Total train batch size (w. accumulation) = ${formatCount(s.perDeviceBatchSize * s.gradientAccumulationSteps)}`,
      `  Gradient Accumulation steps = ${formatCount(s.gradientAccumulationSteps)}`,
      `  Total optimization steps = ${formatCount(s.totalSteps)}`,
      `  Number of trainable parameters = ${formatCount(s.trainableParameters)}`,
    );
    this.stream.write(`${lines.join('\n')}\n`);
    if (this.tty) this.trainBar = this.bars().create(this.totalSteps, this.startStep, this.trainPayload());
  }

  /** The live bars, started on first use (training, or a lone evaluation/prediction). */
  private bars(): cliProgress.MultiBar {
    if (this.multibar) return this.multibar;
    const stream = this.stream;
    // cli-progress draws only on streams that say they are TTYs; honour an explicit `isTTY: true`.
    const terminal = {
      write: (t: string) => stream.write(t),
      isTTY: true,
      // Read live: a resized terminal gets shorter bar lines.
      get columns() {
        return stream.columns ?? 120;
      },
    };
    this.multibar = new cliProgress.MultiBar({
      stream: terminal as unknown as NodeJS.WritableStream,
      // No terminal modes to restore if the process is killed (Ctrl-C) mid-bar: the cursor stays
      // visible and lines are kept short enough not to wrap (see barLine) instead of disabling wrapping.
      hideCursor: false,
      linewrap: true,
      clearOnComplete: false,
      format: (_options, params, payload) => this.barLine(params, payload as BarPayload),
    });
    return this.multibar;
  }

  /**
   * A bar line narrower than the terminal: the bar shrinks first, then the detail parts that give way (the
   * train bar keeps its ETA, loss and learning rate), and only then is the line cut.
   */
  private barLine(params: cliProgress.Params, payload: BarPayload): string {
    const line = (width: number, parts: readonly DetailPart[]) => {
      const filled = Math.round(Math.min(1, Math.max(0, params.progress)) * width);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      return `${payload.label.padEnd(5)} |${bar}| ${params.value}/${params.total} ${joinParts(parts)}`;
    };
    const parts = [...payload.parts];
    const yielding = parts.filter((p) => p.givesWay !== undefined).sort((a, b) => a.givesWay! - b.givesWay!);
    for (;;) {
      for (const width of BAR_WIDTHS) {
        const text = line(width, parts);
        if (text.length < params.maxWidth) return text;
      }
      const next = yielding.shift();
      if (next === undefined) break;
      parts.splice(parts.indexOf(next), 1);
    }
    return line(BAR_WIDTHS.at(-1)!, parts).slice(0, Math.max(0, params.maxWidth - 1));
  }

  /** it/s and ETA over the steps run by this process (a resumed run starts counting afresh). */
  private timing(done: number, total: number, start: number): { rate: number; elapsed: number; eta: number } {
    const elapsed = (this.now() - start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    return { rate, elapsed, eta: rate > 0 ? (total - done) / rate : Number.NaN };
  }

  /** The train bar's detail; elapsed time, then the rate, then the epoch give way on a narrow terminal. */
  private trainDetail(): DetailPart[] {
    const u = this.lastStep;
    const step = u?.step ?? this.startStep;
    const t = this.timing(step - this.startStep, this.totalSteps - this.startStep, this.startTime);
    const parts: DetailPart[] = [
      { text: `epoch ${(u?.epoch ?? 0).toFixed(2)}`, givesWay: 3 },
      { text: `${t.rate.toFixed(2)} it/s`, givesWay: 2 },
      { text: `elapsed ${formatDuration(t.elapsed)}`, givesWay: 1 },
      { text: `ETA ${formatDuration(t.eta)}` },
    ];
    if (u?.loss !== undefined) parts.push({ text: `loss ${formatMetric(u.loss)}` });
    if (u?.learningRate !== undefined) parts.push({ text: `lr ${formatLearningRate(u.learningRate)}` });
    return parts;
  }

  private trainPayload(): BarPayload {
    return { label: 'train', parts: this.trainDetail() };
  }

  step(update: StepUpdate): void {
    this.lastStep = update;
    if (this.trainBar) {
      this.trainBar.update(update.step, this.trainPayload());
      return;
    }
    const fraction = update.step / this.totalSteps;
    if (fraction + 1e-12 < this.nextPlainFraction && update.step !== this.totalSteps) return;
    while (this.nextPlainFraction <= fraction + 1e-12) this.nextPlainFraction += this.plainEvery;
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    this.print(`train ${percent} step ${update.step}/${this.totalSteps} | ${joinParts(this.trainDetail())}`);
  }

  log(entry: LogEntry): void {
    const { step, epoch, ...values } = entry;
    if (values['loss'] !== undefined) this.lossLog.push({ step, loss: values['loss'] });
    const parts = Object.entries(values)
      .filter((kv): kv is [string, number] => kv[1] !== undefined)
      .map(([k, v]) => (k === 'learning_rate' ? `lr ${formatLearningRate(v)}` : `${k} ${formatMetric(v)}`));
    const where = `step ${step}/${this.totalSteps}${epoch !== undefined ? ` epoch ${epoch.toFixed(2)}` : ''}`;
    this.print(`log   ${where} | ${parts.join(' | ')}`);
  }

  evaluationStarted(start: EvaluationStart): void {
    const label = start.label ?? 'eval';
    this.evalStart = { label, batches: start.batches, time: this.now() };
    if (this.tty)
      this.evalBar = this.bars().create(start.batches, 0, { label, parts: [] } satisfies BarPayload);
    else {
      this.print(
        `${label.padEnd(5)} ${start.split}: ${formatCount(start.examples)} examples in ${formatCount(start.batches)} batches`,
      );
    }
  }

  evaluationStep(batchesDone: number): void {
    if (!this.evalBar || !this.evalStart) return;
    const t = this.timing(batchesDone, this.evalStart.batches, this.evalStart.time);
    const parts = [
      { text: `${t.rate.toFixed(2)} it/s`, givesWay: 1 },
      { text: `ETA ${formatDuration(t.eta)}` },
    ];
    this.evalBar.update(batchesDone, { label: this.evalStart.label, parts } satisfies BarPayload);
  }

  evaluationFinished(result: EvaluationResult): void {
    if (this.multibar && this.evalBar) {
      this.multibar.remove(this.evalBar);
      this.evalBar = undefined;
    }
    if (this.evalStart) {
      const t = this.timing(this.evalStart.batches, this.evalStart.batches, this.evalStart.time);
      const label = this.evalStart.label.padEnd(5);
      this.print(`${label} ${result.split} done in ${formatDuration(t.elapsed)} (${t.rate.toFixed(2)} it/s)`);
      this.evalStart = undefined;
    }
    // A prediction pass over an unlabelled split has no metrics to tabulate.
    if (Object.keys(result.metrics).some((k) => !isRunMetric(k))) {
      // Several eval sets at one step (MNLI's matched and mismatched) share a row.
      const last = this.evalRows.at(-1);
      if (last?.step === result.step && Object.keys(result.metrics).every((k) => !(k in last.metrics))) {
        this.evalRows[this.evalRows.length - 1] = {
          ...last,
          metrics: { ...last.metrics, ...result.metrics },
        };
      } else this.evalRows.push(result);
      this.print(this.evalTable());
    }
  }

  /**
   * The course notebook's table, one row per evaluation so far: epoch, step, the last training loss
   * logged by then ("No log" before the first), and the evaluation metrics.
   */
  private evalTable(): string {
    const metricKeys = [
      ...new Set(this.evalRows.flatMap((r) => Object.keys(r.metrics).filter((k) => !isRunMetric(k)))),
    ];
    const header = ['Epoch', 'Step', 'Training Loss', ...metricKeys.map(columnTitle)];
    const rows = this.evalRows.map((r) => {
      const logged = this.lossLog.filter((l) => l.step <= r.step).at(-1);
      return [
        r.epoch.toFixed(2),
        String(r.step),
        logged ? formatMetric(logged.loss) : 'No log',
        ...metricKeys.map((k) => (r.metrics[k] === undefined ? '' : formatMetric(r.metrics[k]))),
      ];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: readonly string[]) => `  ${cells.map((c, i) => c.padStart(widths[i]!)).join('  ')}`;
    return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
  }

  checkpointSaved(path: string, step: number): void {
    this.print(`save  step ${step}: ${path}`);
  }

  message(text: string): void {
    this.print(text);
  }

  trainingFinished(r: TrainingResult): void {
    if (this.trainBar && this.lastStep) this.trainBar.update(this.lastStep.step, this.trainPayload());
    this.close();
    const shown = Object.fromEntries(Object.entries(r.finalMetrics ?? {}).filter(([k]) => !isRunMetric(k)));
    const lines = [
      '',
      '***** Training finished *****',
      `  Runtime:     ${formatDuration(r.trainRuntime)} (${formatCount(r.globalStep)} steps, ${r.epoch.toFixed(2)} epochs)`,
      `  Throughput:  ${r.trainSamplesPerSecond.toFixed(2)} samples/s, ${r.trainStepsPerSecond.toFixed(2)} steps/s`,
      `  Train loss:  ${formatMetric(r.trainLoss)}`,
    ];
    if (Object.keys(shown).length > 0) {
      lines.push(`  Metrics:     ${formatMetrics(shown)}${r.metricsSplit ? ` on ${r.metricsSplit}` : ''}`);
    }
    lines.push(`  Model:       ${r.modelDir}`);
    if (r.checkpoints.length > 0) lines.push(`  Checkpoints: ${r.checkpoints.join(', ')}`);
    if (r.bestCheckpoint) lines.push(`  Best:        ${r.bestCheckpoint}`);
    if (r.files.length > 0) lines.push(`  Files:       ${r.files.join(', ')}`);
    const lastCheckpoint = r.checkpoints.at(-1);
    if (r.configFile && lastCheckpoint) {
      const resume = ['pnpm', 'train', '--config', r.configFile, '--resume-from-checkpoint', lastCheckpoint];
      lines.push(`  Resume:      ${resume.map(shellQuote).join(' ')}`);
    }
    const predict = [
      'pnpm',
      'predict',
      '--model',
      r.modelDir,
      '--data',
      r.data ?? '<folder>',
      '--split',
      'test',
    ];
    lines.push(`  Predict:     ${predict.map((a) => (a === '<folder>' ? a : shellQuote(a))).join(' ')}`);
    this.stream.write(`${lines.join('\n')}\n`);
  }

  close(): void {
    if (!this.multibar) return;
    this.multibar.update();
    this.multibar.stop();
    this.multibar = undefined;
    this.trainBar = undefined;
    this.evalBar = undefined;
  }
}

/** `eval_accuracy` -> `Accuracy`, `eval_loss` -> `Validation Loss` (the notebook's column names). */
function columnTitle(key: string): string {
  if (key === 'eval_loss') return 'Validation Loss';
  const name = key.replace(/^eval_/, '');
  return name.length <= 3 ? name.toUpperCase() : name.charAt(0).toUpperCase() + name.slice(1);
}
