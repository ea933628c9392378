import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { compileArtifacts, exportInference } from '@ortrain/artifacts';
import {
  type Batch,
  type BatchSampler,
  DataCollatorWithPadding,
  GroupByLengthSampler,
  type HubOptions,
  hubDownload,
  hubDownloadOptional,
  RandomSampler,
  SequentialSampler,
  type TokenizedDataset,
} from '@ortrain/data';
import type { EvalPrediction } from '@ortrain/metrics';
import { writeFileAtomic } from '../checkpoint/atomic.js';
import {
  checkpointDir,
  latestValidCheckpoint,
  loadCheckpoint,
  removeStaleTemps,
  rotateCheckpoints,
  saveCheckpoint,
} from '../checkpoint/checkpoints.js';
import type { ProviderChoice } from '../runtime/provider.js';
import { readManifest, TrainingSession } from '../runtime/session.js';
import type { TrainingArguments } from './arguments.js';
import { LRScheduler, warmupStepsFor } from './scheduler.js';
import { initialState, type LogEntry, type TrainerStateJSON } from './state.js';

/** A model to compile before training: an ONNX export, an HF checkpoint folder, or a hub id. */
export interface ModelSource {
  source: string;
  /** Number of labels (default 2); 1 is regression. */
  numLabels?: number;
  /** id2label names for the exported config.json. */
  labelNames?: string[];
  /** Parameters to freeze (name prefixes or patterns). */
  freeze?: (string | RegExp)[];
}

export interface TrainerOptions {
  /** A compiled artifacts folder (with manifest.json), or a model source compiled with the args' settings. */
  model: string | ModelSource;
  args: TrainingArguments;
  trainDataset?: TokenizedDataset;
  evalDataset?: TokenizedDataset;
  /** Default: DataCollatorWithPadding (dynamic padding), as HF's default when a tokenizer is given. */
  dataCollator?: DataCollatorWithPadding;
  /** Folder with the tokenizer files, copied next to the exported model. */
  tokenizer?: string;
  computeMetrics?: (p: EvalPrediction) => Record<string, number>;
  /** Stop on SIGINT after the current step with a checkpoint (default true); a second SIGINT exits at once. */
  handleSigint?: boolean;
  /** Cache folder, offline mode, endpoint for models given by hub id. */
  hub?: HubOptions;
}

export interface StepEvent {
  globalStep: number;
  maxSteps: number;
  epoch: number;
  /** Mean loss of this optimizer step (micro-batch losses / gradient_accumulation_steps, summed). */
  loss: number;
  gradNorm: number;
  learningRate: number;
}

export interface TrainerEvents {
  /** Informational lines (device choice, newly initialized weights, resume position). */
  message: [text: string];
  train_begin: [
    info: { maxSteps: number; numTrainEpochs: number; numExamples: number; device: ProviderChoice },
  ];
  step: [event: StepEvent];
  log: [entry: LogEntry];
  evaluate: [metrics: Record<string, number>];
  save: [info: { checkpoint: string; deleted: string[] }];
  train_end: [output: TrainOutput];
}

export interface TrainOutput {
  globalStep: number;
  trainingLoss: number;
  metrics: Record<string, number>;
}

export interface PredictionOutput {
  /** Logits, row-major [n, numLabels]. */
  predictions: Float32Array;
  shape: [number, number];
  labelIds: Int32Array | Float32Array | null;
  metrics: Record<string, number>;
}

/** Thrown by train() after SIGINT, once the checkpoint is written. */
export class TrainingInterrupted extends Error {
  override name = 'TrainingInterrupted';
  constructor(readonly checkpoint: string) {
    super(
      `Training interrupted; state saved to ${checkpoint}. Resume with ` +
        `trainer.train({ resumeFromCheckpoint: '${checkpoint}' }) (or resumeFromCheckpoint: true for the latest).`,
    );
  }
}

interface StepOutcome {
  /** HF's tr_loss contribution: the step's micro-batch losses / gradient_accumulation_steps, summed. */
  loss: number;
  gradNorm: number;
  /** Batches this step consumed. */
  batches: number;
}

/** Running loss sums (HF's tr_loss and _total_loss_scalar), saved with checkpoints. */
interface Accumulators {
  trLoss: number;
  stepsSinceLog: number;
  /** NaN (null in JSON) before the first step. */
  lastGradNorm: number;
  totalLoss: number;
}

function freshAccumulators(): Accumulators {
  return { trLoss: 0, stepsSinceLog: 0, lastGradNorm: Number.NaN, totalLoss: 0 };
}

/** Where a resumed run picks up the sampler: (epoch, next batch index). */
interface Position {
  epoch: number;
  batch: number;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Hugging Face's Trainer over ortrain artifacts: the same arguments, step/epoch accounting, logs,
 * trainer_state.json, checkpoints and metrics keys.
 */
export class Trainer extends EventEmitter<TrainerEvents> {
  readonly args: TrainingArguments;
  state: TrainerStateJSON = initialState();
  private session?: TrainingSession;
  private readonly collator: DataCollatorWithPadding;
  private artifactsDir?: string;
  private interrupted = false;
  /** Tokenizer files for the export: the `tokenizer` option, else those next to the model source. */
  private tokenizerDir: string | undefined;
  private acc: Accumulators = freshAccumulators();

  constructor(private readonly options: TrainerOptions) {
    super();
    this.args = options.args;
    this.collator = options.dataCollator ?? new DataCollatorWithPadding();
    this.tokenizerDir = options.tokenizer;
    if (this.args.eval_strategy !== 'no' && !options.evalDataset) {
      throw new Error(
        `TrainingArguments.eval_strategy is "${this.args.eval_strategy}" but no evalDataset was given`,
      );
    }
  }

  /** The runtime session, compiling the model first when it is a source. */
  async getSession(): Promise<TrainingSession> {
    if (this.session) return this.session;
    const a = this.args;
    const m = this.options.model;
    let dir: string;
    if (typeof m === 'string' && existsSync(join(m, 'manifest.json'))) {
      dir = m;
      this.checkCompiledSettings(dir);
    } else {
      const src = typeof m === 'string' ? { source: m } : m;
      const source = await resolveSource(src.source, this.options.hub);
      this.tokenizerDir ??= tokenizerFolderOf(source);
      const result = compileArtifacts(source, {
        name: 'artifacts',
        outDir: a.output_dir,
        ...(src.numLabels !== undefined && { numLabels: src.numLabels }),
        ...(src.labelNames && { labelNames: src.labelNames }),
        ...(src.freeze && { freeze: src.freeze }),
        ...(a.dropout !== null && {
          dropout: { hidden: a.dropout, attention: a.dropout, classifier: a.dropout },
        }),
        optimizer: {
          beta1: a.adam_beta1,
          beta2: a.adam_beta2,
          epsilon: a.adam_epsilon,
          weightDecay: a.weight_decay,
          maxGradNorm: a.max_grad_norm,
        },
        seed: a.seed,
      });
      for (const msg of result.report.messages) this.emit('message', msg);
      dir = result.dir;
    }
    this.artifactsDir = dir;
    const device = a.full_determinism ? 'cpu' : a.device;
    this.session = await TrainingSession.open(dir, { device, numThreads: a.num_threads });
    this.emit(
      'message',
      `Running on ${this.session.provider.device.toUpperCase()}: ${this.session.provider.reason}`,
    );
    return this.session;
  }

  /** A precompiled folder bakes optimizer and dropout settings in; refuse arguments that disagree. */
  private checkCompiledSettings(dir: string): void {
    const m = readManifest(dir);
    const a = this.args;
    const pairs: [string, number, number][] = [
      ['adam_beta1', a.adam_beta1, m.optimizer.beta1],
      ['adam_beta2', a.adam_beta2, m.optimizer.beta2],
      ['adam_epsilon', a.adam_epsilon, m.optimizer.epsilon],
      ['weight_decay', a.weight_decay, m.optimizer.weightDecay],
      ['max_grad_norm', a.max_grad_norm, Math.max(0, m.optimizer.maxGradNorm)],
    ];
    if (a.dropout !== null) {
      pairs.push(['dropout', a.dropout, m.dropout.hidden], ['dropout', a.dropout, m.dropout.attention]);
      pairs.push(['dropout', a.dropout, m.dropout.classifier]);
    }
    for (const [key, want, have] of pairs) {
      if (Math.abs(want - have) > 1e-12 * Math.max(1, Math.abs(want))) {
        throw new Error(
          `TrainingArguments.${key} is ${want} but the artifacts in ${dir} were compiled with ${have}; ` +
            'recompile them with that setting, or pass the model source ({ source }) so the Trainer compiles it',
        );
      }
    }
  }

  private sampler(ds: TokenizedDataset, train: boolean): BatchSampler {
    const a = this.args;
    const batchSize = train ? a.per_device_train_batch_size : a.per_device_eval_batch_size;
    const dropLast = train && a.dataloader_drop_last;
    if (!train || !a.shuffle) return new SequentialSampler(ds.numRows, { batchSize, dropLast });
    if (a.group_by_length) {
      const lengths = Int32Array.from({ length: ds.numRows }, (_, i) => ds.length(i));
      return new GroupByLengthSampler(lengths, { batchSize, dropLast, seed: a.data_seed ?? a.seed });
    }
    return new RandomSampler(ds.numRows, { batchSize, dropLast, seed: a.data_seed ?? a.seed });
  }

  /** The epoch for logs; undefined before any training, as HF's `state.epoch` is None then. */
  private currentEpoch(): number | undefined {
    return this.state.global_step > 0 || this.state.epoch > 0 ? this.state.epoch : undefined;
  }

  /** HF's `log`: adds epoch and step, appends to log_history, emits `log`. */
  log(logs: Record<string, number>): void {
    const entry: LogEntry = { ...logs };
    const epoch = this.currentEpoch();
    if (epoch !== undefined) entry['epoch'] = epoch;
    entry['step'] = this.state.global_step;
    this.state.log_history.push(entry);
    this.emit('log', entry);
  }

  async train(options: { resumeFromCheckpoint?: string | boolean } = {}): Promise<TrainOutput> {
    const a = this.args;
    const ds = this.options.trainDataset;
    if (!ds) throw new Error('Trainer.train() needs a trainDataset');
    const session = await this.getSession();
    const sampler = this.sampler(ds, true);
    const ga = a.gradient_accumulation_steps;
    const batchesPerEpoch = sampler.numBatches;
    if (batchesPerEpoch === 0) throw new Error(`the training set (${ds.numRows} rows) gives no batch`);
    const updatesPerEpoch = Math.max(Math.floor(batchesPerEpoch / ga), 1);
    let maxSteps: number;
    let numTrainEpochs: number;
    if (a.max_steps > 0) {
      maxSteps = a.max_steps;
      numTrainEpochs = Math.floor(maxSteps / updatesPerEpoch) + (maxSteps % updatesPerEpoch > 0 ? 1 : 0);
    } else {
      maxSteps = Math.ceil(a.num_train_epochs * updatesPerEpoch);
      numTrainEpochs = Math.ceil(a.num_train_epochs);
    }
    const ratio = (v: number) => (v < 1 ? Math.ceil(maxSteps * v) : v);
    const loggingSteps = ratio(a.logging_steps);
    const evalSteps = ratio(a.eval_steps ?? a.logging_steps);
    const saveSteps = ratio(a.save_steps);
    const scheduler = new LRScheduler(
      a.lr_scheduler_type,
      a.learning_rate,
      warmupStepsFor(maxSteps, a.warmup_steps, a.warmup_ratio),
      maxSteps,
    );
    const stepsPerRun = a.steps_per_run ?? (session.provider.device === 'cuda' && ga === 1 ? 8 : 1);
    if (stepsPerRun > 1 && ga > 1) {
      throw new Error('TrainingArguments.steps_per_run > 1 needs gradient_accumulation_steps 1');
    }

    this.state = {
      ...initialState(),
      logging_steps: loggingSteps,
      eval_steps: evalSteps,
      save_steps: saveSteps,
      max_steps: maxSteps,
      num_train_epochs: numTrainEpochs,
      train_batch_size: a.per_device_train_batch_size,
    };
    let position: Position = { epoch: 0, batch: 0 };
    this.acc = freshAccumulators();
    const acc = this.acc;
    removeStaleTemps(a.output_dir);
    const resume = this.resolveResume(options.resumeFromCheckpoint);
    if (resume) position = this.restore(session, resume, scheduler);

    this.emit('train_begin', { maxSteps, numTrainEpochs, numExamples: ds.numRows, device: session.provider });
    const started = performance.now();
    let lastSaved = -1;
    let stop = this.state.global_step >= maxSteps;

    const onSigint = () => {
      if (this.interrupted) {
        this.emit('message', 'Second SIGINT: exiting without saving');
        process.exit(130);
      }
      this.interrupted = true;
      this.emit(
        'message',
        'SIGINT: finishing the current step, then saving a checkpoint (SIGINT again to exit at once)',
      );
    };
    const handle = this.options.handleSigint ?? true;
    if (handle) process.on('SIGINT', onSigint);
    this.interrupted = false;

    const save = (pos: Position) => {
      const dir = this.saveCheckpoint(session, scheduler, pos);
      lastSaved = this.state.global_step;
      return dir;
    };
    // HF's _maybe_log_save_evaluate.
    const maybeLogSaveEvaluate = async (
      flags: { log: boolean; evaluate: boolean; save: boolean },
      pos: Position,
    ) => {
      if (flags.log && acc.stepsSinceLog > 0) {
        const logs: Record<string, number> = { loss: round(acc.trLoss / acc.stepsSinceLog, 4) };
        if (Number.isFinite(acc.lastGradNorm)) logs['grad_norm'] = acc.lastGradNorm;
        logs['learning_rate'] = scheduler.lrAt(this.state.global_step);
        this.log(logs);
        acc.trLoss = 0;
        acc.stepsSinceLog = 0;
      }
      if (flags.evaluate) {
        const metrics = await this.evaluate();
        this.updateBest(metrics);
      }
      if (flags.save) save(pos);
    };

    try {
      for (let epoch = position.epoch; epoch < numTrainEpochs && !stop; epoch++) {
        const first = epoch === position.epoch ? position.batch : 0;
        const it = sampler.batches(epoch, first);
        let index = first; // index of the next batch in this epoch
        const seedAt = (i: number) => dropoutSeed(a.seed, epoch * batchesPerEpoch + i);
        const next = (): Batch | undefined => {
          const r = it.next();
          return r.done ? undefined : this.collator.collate(ds, r.value);
        };
        for (let batch = next(); batch !== undefined && !stop; ) {
          // One optimizer step, or a group of them in one session run (steps_per_run).
          const results: StepOutcome[] = [];
          if (ga === 1 && stepsPerRun > 1) {
            const limit = Math.min(
              stepsPerRun,
              this.nextBoundary(maxSteps, loggingSteps, evalSteps, saveSteps) - this.state.global_step,
            );
            // The Loop needs one batch size: a smaller last batch ends the group.
            const group = [batch];
            batch = next();
            while (group.length < limit && batch !== undefined && batch.dims[0] === group[0]!.dims[0]) {
              group.push(batch);
              batch = next();
            }
            const s = this.state.global_step;
            if (group.length === 1) {
              const r = await session.step(group[0]!, scheduler.lrAt(s), s + 1, seedAt(index));
              results.push({ ...r, batches: 1 });
            } else {
              const lrs = group.map((_, i) => scheduler.lrAt(s + i));
              for (const r of await session.multiStep(group, lrs, s + 1, seedAt(index)))
                results.push({ ...r, batches: 1 });
            }
          } else if (ga === 1) {
            const s = this.state.global_step;
            const r = await session.step(batch, scheduler.lrAt(s), s + 1, seedAt(index));
            results.push({ ...r, batches: 1 });
            batch = next();
          } else {
            // Up to GA micro-batches, each loss / GA as HF reports it; an epoch's last partial group steps too.
            let loss = 0;
            let count = 0;
            while (batch !== undefined && count < ga) {
              const l = await session.accumulate(batch, 1 / ga, seedAt(index + count));
              checkFinite(l, this.state.global_step + 1);
              loss += l / ga;
              count++;
              batch = next();
            }
            const s = this.state.global_step;
            const gradNorm = await session.applyOptimizer(scheduler.lrAt(s), s + 1);
            results.push({ loss, gradNorm, batches: count });
          }
          for (const r of results) {
            index += r.batches;
            checkFinite(r.loss, this.state.global_step + 1);
            this.state.global_step++;
            this.state.epoch = epoch + index / batchesPerEpoch;
            acc.trLoss += r.loss;
            acc.totalLoss += r.loss;
            acc.stepsSinceLog++;
            acc.lastGradNorm = r.gradNorm;
            const gs = this.state.global_step;
            this.emit('step', {
              globalStep: gs,
              maxSteps,
              epoch: this.state.epoch,
              loss: r.loss,
              gradNorm: r.gradNorm,
              learningRate: scheduler.lrAt(gs - 1),
            });
            // DefaultFlowCallback.on_step_end
            const flags = {
              log:
                (gs === 1 && a.logging_first_step) ||
                (a.logging_strategy === 'steps' && gs % loggingSteps === 0),
              evaluate: a.eval_strategy === 'steps' && gs % evalSteps === 0,
              save: a.save_strategy === 'steps' && gs % saveSteps === 0,
            };
            if (gs >= maxSteps) {
              stop = true;
              if (a.save_strategy !== 'no') flags.save = true;
            }
            await maybeLogSaveEvaluate(flags, { epoch, batch: index });
          }
          if (this.interrupted && !stop) {
            const dir =
              lastSaved === this.state.global_step
                ? checkpointDir(a.output_dir, lastSaved)
                : save({ epoch, batch: index });
            throw new TrainingInterrupted(dir);
          }
        }
        // on_epoch_end
        await maybeLogSaveEvaluate(
          {
            log: a.logging_strategy === 'epoch',
            evaluate: a.eval_strategy === 'epoch',
            save: a.save_strategy === 'epoch',
          },
          { epoch: epoch + 1, batch: 0 },
        );
      }
    } finally {
      if (handle) process.off('SIGINT', onSigint);
    }

    if (a.load_best_model_at_end && this.state.best_model_checkpoint) {
      const best = loadCheckpoint(this.state.best_model_checkpoint);
      session.load(best.weights, this.state.best_model_checkpoint);
      this.emit(
        'message',
        `Loading best model from ${this.state.best_model_checkpoint} (score: ${this.state.best_metric})`,
      );
    }
    const runtime = (performance.now() - started) / 1000;
    const trainedSteps = Math.max(this.state.global_step, 1);
    const metrics: Record<string, number> = {
      train_runtime: round(runtime, 4),
      train_samples_per_second: round(
        (a.max_steps > 0 ? maxSteps * a.per_device_train_batch_size * ga : ds.numRows * a.num_train_epochs) /
          runtime,
        3,
      ),
      train_steps_per_second: round(maxSteps / runtime, 3),
      total_flos: 0,
      train_loss: acc.totalLoss / trainedSteps,
    };
    this.log(metrics);
    this.saveModel();
    writeFileAtomic(join(a.output_dir, 'trainer_state.json'), `${JSON.stringify(this.state, null, 2)}\n`);
    const output: TrainOutput = {
      globalStep: this.state.global_step,
      trainingLoss: metrics['train_loss']!,
      metrics,
    };
    this.emit('train_end', output);
    return output;
  }

  /** The next global step at which something must happen between steps (a log, eval, save or the end). */
  private nextBoundary(maxSteps: number, logging: number, evalSteps: number, save: number): number {
    const a = this.args;
    const gs = this.state.global_step;
    const nextMultiple = (k: number) => (Math.floor(gs / k) + 1) * k;
    let b = maxSteps;
    if (a.logging_strategy === 'steps') b = Math.min(b, nextMultiple(logging));
    if (a.eval_strategy === 'steps') b = Math.min(b, nextMultiple(evalSteps));
    if (a.save_strategy === 'steps') b = Math.min(b, nextMultiple(save));
    if (a.logging_first_step && gs === 0) b = 1;
    return b;
  }

  private resolveResume(r: string | boolean | undefined): string | undefined {
    if (r === undefined || r === false) return undefined;
    if (r === true) {
      const latest = latestValidCheckpoint(this.args.output_dir);
      if (!latest) throw new Error(`resumeFromCheckpoint: no valid checkpoint in ${this.args.output_dir}`);
      return latest;
    }
    return r;
  }

  private restore(session: TrainingSession, dir: string, scheduler: LRScheduler): Position {
    const c = loadCheckpoint(dir);
    session.load(c.weights, join(dir, 'model.safetensors'));
    session.load(c.optimizer, join(dir, 'optimizer.safetensors'));
    const saved = c.trainerState as unknown as TrainerStateJSON;
    if (saved.max_steps !== this.state.max_steps) {
      this.emit(
        'message',
        `Resuming with max_steps ${this.state.max_steps} (the checkpoint was made with ${saved.max_steps})`,
      );
    }
    this.state = {
      ...this.state,
      ...pick(saved, [
        'global_step',
        'epoch',
        'log_history',
        'best_metric',
        'best_model_checkpoint',
        'best_global_step',
        'total_flos',
      ]),
    };
    const sched = c.scheduler as { last_epoch?: number; type?: string };
    if (sched.type !== scheduler.type) {
      this.emit(
        'message',
        `Resuming with lr_scheduler_type ${scheduler.type} (the checkpoint used ${sched.type})`,
      );
    }
    const rng = c.rngState as { sampler?: Position; loss_accumulators?: Accumulators };
    const pos = rng.sampler;
    if (!pos || !Number.isInteger(pos.epoch) || !Number.isInteger(pos.batch)) {
      throw new Error(`${join(dir, 'rng_state.json')}: no sampler position`);
    }
    // The running loss sums, so the first log after resuming averages the same steps as without the stop.
    if (rng.loss_accumulators)
      Object.assign(this.acc, rng.loss_accumulators, {
        lastGradNorm: rng.loss_accumulators.lastGradNorm ?? Number.NaN,
      });
    this.emit(
      'message',
      `Resuming from ${dir}: step ${saved.global_step}, epoch ${pos.epoch}, batch ${pos.batch}`,
    );
    return pos;
  }

  private saveCheckpoint(session: TrainingSession, scheduler: LRScheduler, pos: Position): string {
    const a = this.args;
    const gs = this.state.global_step;
    const dir = saveCheckpoint(a.output_dir, gs, {
      weights: session.weights(),
      optimizer: session.optimizerState(),
      scheduler: {
        type: scheduler.type,
        base_lr: scheduler.baseLr,
        warmup_steps: scheduler.warmupSteps,
        total_steps: scheduler.totalSteps,
        last_epoch: gs,
        last_lr: scheduler.lrAt(gs),
      },
      rngState: { seed: a.seed, sampler: pos, loss_accumulators: this.acc },
      trainerState: this.state as unknown as Record<string, unknown>,
      trainingArgs: a.toJSON(),
    });
    const deleted = rotateCheckpoints(a.output_dir, a.save_total_limit, this.state.best_model_checkpoint);
    this.emit('save', { checkpoint: dir, deleted });
    return dir;
  }

  /** HF's _determine_best_metric. */
  private updateBest(metrics: Record<string, number>): void {
    const a = this.args;
    if (a.metric_for_best_model === null) return;
    const key = a.metric_for_best_model.startsWith('eval_')
      ? a.metric_for_best_model
      : `eval_${a.metric_for_best_model}`;
    const value = metrics[key];
    if (value === undefined) {
      throw new Error(
        `metric_for_best_model "${a.metric_for_best_model}" not found in the evaluation metrics (${Object.keys(metrics).join(', ')})`,
      );
    }
    const better = a.greater_is_better ? (x: number, y: number) => x > y : (x: number, y: number) => x < y;
    const best = this.state.best_metric ?? (a.greater_is_better ? -Infinity : Infinity);
    if (better(value, best)) {
      this.state.best_metric = value;
      this.state.best_global_step = this.state.global_step;
      this.state.best_model_checkpoint = checkpointDir(a.output_dir, this.state.global_step);
    }
  }

  private async loop(
    ds: TokenizedDataset,
    prefix: string,
  ): Promise<{ logits: Float32Array; numLabels: number; metrics: Record<string, number> }> {
    const session = await this.getSession();
    const sampler = this.sampler(ds, false);
    const numLabels = session.manifest.model.numLabels;
    const logits = new Float32Array(ds.numRows * numLabels);
    const started = performance.now();
    let lossSum = 0;
    let lossRows = 0;
    let offset = 0;
    let steps = 0;
    for (const rows of sampler.batches(0)) {
      const batch = this.collator.collate(ds, rows);
      const r = await session.evalBatch(batch);
      logits.set(r.logits, offset);
      offset += r.logits.length;
      if (r.loss !== undefined) {
        lossSum += r.loss * rows.length;
        lossRows += rows.length;
      }
      steps++;
    }
    const runtime = (performance.now() - started) / 1000;
    const raw: Record<string, number> = {};
    if (this.options.computeMetrics && ds.labels) {
      Object.assign(
        raw,
        this.options.computeMetrics({
          predictions: { data: logits, shape: [ds.numRows, numLabels] },
          labelIds: ds.labels,
        }),
      );
    }
    // HF's order: the loss first, then the computed metrics, each under the prefix, then speed metrics.
    const metrics: Record<string, number> = {};
    if (lossRows > 0) metrics[`${prefix}_loss`] = lossSum / lossRows;
    for (const [k, v] of Object.entries(raw)) metrics[k.startsWith(`${prefix}_`) ? k : `${prefix}_${k}`] = v;
    metrics[`${prefix}_runtime`] = round(runtime, 4);
    metrics[`${prefix}_samples_per_second`] = round(ds.numRows / runtime, 3);
    metrics[`${prefix}_steps_per_second`] = round(steps / runtime, 3);
    return { logits, numLabels, metrics };
  }

  /** Evaluates on `evalDataset` (or the given one); logs and returns `eval_*` metrics plus `epoch`. */
  async evaluate(ds?: TokenizedDataset, metricKeyPrefix = 'eval'): Promise<Record<string, number>> {
    const data = ds ?? this.options.evalDataset;
    if (!data) throw new Error('Trainer.evaluate() needs an evalDataset');
    const { metrics } = await this.loop(data, metricKeyPrefix);
    this.log(metrics);
    const epoch = this.currentEpoch();
    const out = { ...metrics, ...(epoch !== undefined && { epoch }) };
    this.emit('evaluate', out);
    return out;
  }

  /** Logits, labels and `test_*` metrics for a dataset (HF's predict). */
  async predict(ds: TokenizedDataset, metricKeyPrefix = 'test'): Promise<PredictionOutput> {
    const { logits, numLabels, metrics } = await this.loop(ds, metricKeyPrefix);
    return { predictions: logits, shape: [ds.numRows, numLabels], labelIds: ds.labels, metrics };
  }

  /**
   * Exports the current weights to `dir` (default output_dir) in the transformers.js layout: config.json with
   * id2label/label2id, onnx/model.onnx and the tokenizer files.
   */
  saveModel(dir = this.args.output_dir): string {
    if (!this.session || !this.artifactsDir) throw new Error('saveModel: the model is not loaded yet');
    mkdirSync(dir, { recursive: true });
    // Live views, no copies: the export writes them out before any further step can change them.
    const session = this.session;
    const weights = new Map(session.manifest.parameters.map((p) => [p.name, session.view(p.name)]));
    return exportInference(this.artifactsDir, dir, {
      weights,
      ...(this.tokenizerDir !== undefined && { tokenizerDir: this.tokenizerDir }),
    });
  }

  async close(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }
}

function checkFinite(loss: number, step: number): void {
  if (!Number.isFinite(loss)) {
    throw new Error(
      `Training loss is ${loss} at step ${step}: stopping (lower the learning rate, check the inputs and labels, or resume from an earlier checkpoint)`,
    );
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (k in o) out[k] = o[k];
  return out;
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'];

/**
 * A local path as is; otherwise a hub id, whose config, weights and (optional) tokenizer files are downloaded
 * into the cache, or read from it offline.
 */
async function resolveSource(source: string, hub: HubOptions = {}): Promise<string> {
  if (existsSync(source)) return resolve(source);
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(source)) {
    throw new Error(`model source '${source}' is neither a local path nor a hub id`);
  }
  try {
    const config = await hubDownload(source, 'config.json', hub);
    await hubDownload(source, 'model.safetensors', hub);
    for (const f of TOKENIZER_FILES) await hubDownloadOptional(source, f, hub);
    return dirname(config);
  } catch (e) {
    const why = (e as Error).message;
    throw new Error(`model '${source}': not a local path, and the hub copy is unavailable: ${why}`, {
      cause: e,
    });
  }
}

/** The folder holding a model source's tokenizer files, when it has them. */
function tokenizerFolderOf(source: string): string | undefined {
  const dir = existsSync(source) && !source.endsWith('.onnx') ? source : dirname(source);
  return TOKENIZER_FILES.some((f) => existsSync(join(dir, f))) ? dir : undefined;
}

/**
 * The dropout masks' seed for one micro-batch: args.seed in the high 32 bits, the micro-batch's position in the
 * run (epoch * batches per epoch + batch) in the low ones, so a resumed run draws the masks the uninterrupted
 * one did, and every micro-batch of an accumulation or a K-step Loop draws its own.
 */
function dropoutSeed(seed: number, microBatch: number): bigint {
  return (BigInt(seed) << 32n) + BigInt(microBatch);
}
