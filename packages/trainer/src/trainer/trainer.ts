import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ArtifactManifest,
  type CompiledModel,
  compileArtifacts,
  exportInference,
  openCompiled,
  writeFileAtomic,
} from '@ortrain/artifacts';
import {
  type BatchSampler,
  DataCollatorWithPadding,
  GroupByLengthSampler,
  type HubOptions,
  RandomSampler,
  SequentialSampler,
  type TextTokenizer,
  type TokenizedDataset,
} from '@ortrain/data';
import type { Tensor } from '@ortrain/graph';
import type { EvalPrediction } from '@ortrain/metrics';
import {
  checkpointDir,
  latestValidCheckpoint,
  loadCheckpoint,
  removeStaleTemps,
  rotateCheckpoints,
  saveCheckpoint,
} from '../checkpoint/checkpoints.js';
import { modelCard } from '../hub/model-card.js';
import { HubPusher } from '../hub/push.js';
import { parseDevices } from '../parallel/devices.js';
import { ReplicaGroup } from '../parallel/replica-group.js';
import { type Device, type ProviderChoice, selectProvider } from '../runtime/device.js';
import { cApiUnavailable } from '../runtime/ort-c-api.js';
import { Replica } from '../runtime/replica.js';
import { evalMetricKey, type TrainingArguments } from './arguments.js';
import {
  CallbackHandler,
  DEFAULT_CALLBACKS,
  type TrainerCallback,
  type TrainerCallbackClass,
} from './callbacks.js';
import { nextFlowStep, type TrainerControl } from './control.js';
import {
  checkCompiledSettings,
  compileOptionsFor,
  isCompiled,
  type ModelSource,
  resolveModelSource,
  tokenizerFolderOf,
} from './model.js';
import { changedSinceCheckpoint } from './resume-check.js';
import { checkPrecisionDevice } from './scaler.js';
import { LRScheduler, warmupStepsFor } from './scheduler.js';
import { SigintWatch } from './signals.js';
import { initialState, type LogEntry, type TrainerStateJSON } from './state.js';
import { BatchQueue, checkFinite, type StepOutcome, type StepRunner, stepRunnerFor } from './steps.js';
import {
  isStreamed,
  STREAM_EPOCH_STRIDE,
  type StreamedDataset,
  sampledFeed,
  streamedFeed,
} from './streamed.js';

export interface TrainerOptions {
  /**
   * A compiled model (compileArtifacts' result, or its folder with manifest.json), or a model source (a path or
   * hub id, or a ModelSource) that the Trainer compiles with the args' settings into output_dir/training.
   */
  model: string | ModelSource | CompiledModel;
  args: TrainingArguments;
  /** A tokenized split, or a stream (HF's IterableDataset; needs max_steps). */
  trainDataset?: TokenizedDataset | StreamedDataset;
  /**
   * One eval set, or several by name (HF's dict `eval_dataset`): each is evaluated with the metric prefix
   * `eval_<name>` (`eval_matched_accuracy`) and the metrics merged.
   */
  evalDataset?: EvalDataset;
  /** Default: DataCollatorWithPadding(tokenizer) (dynamic padding), as HF's default when a tokenizer is given. */
  dataCollator?: DataCollatorWithPadding;
  /**
   * The tokenizer, saved next to the exported model (HF's `save_pretrained`), or a folder with the tokenizer
   * files, copied there. Default: the tokenizer files next to the model source.
   */
  tokenizer?: TextTokenizer | string;
  computeMetrics?: (p: EvalPrediction) => Record<string, number>;
  /** Stop on SIGINT after the current step with a checkpoint (default true); a second SIGINT exits at once. */
  handleSigint?: boolean;
  /** Cache folder, offline mode, endpoint for models given by hub id. */
  hub?: HubOptions;
  /** Callbacks (or classes to instantiate) after the default flow, as HF's `callbacks`. */
  callbacks?: (TrainerCallback | TrainerCallbackClass)[];
}

/** One eval set, or several by name. */
export type EvalDataset = TokenizedDataset | Readonly<Record<string, TokenizedDataset>>;

/** A record of named eval sets rather than one set. */
function isEvalRecord(ds: EvalDataset): ds is Readonly<Record<string, TokenizedDataset>> {
  return !('inputIds' in ds);
}

export interface StepEvent {
  globalStep: number;
  maxSteps: number;
  epoch: number;
  /** Mean loss of this optimizer step (micro-batch losses / gradient_accumulation_steps, summed). */
  loss: number;
  gradNorm: number;
  /** The rate this step ran with (what the next log reports, as HF's). */
  learningRate: number;
  /** fp16: this step's gradients overflowed and its update was skipped (absent without loss scaling). */
  skipped?: boolean;
  /** Bytes the step's (last) session run moved between host and device; absent on the CPU. */
  hostDeviceBytes?: number;
}

export interface TrainerEvents {
  /** Informational lines (device choice, newly initialized weights, resume position). */
  message: [text: string];
  train_begin: [
    info: { maxSteps: number; numTrainEpochs: number; numExamples: number; device: ProviderChoice },
  ];
  step: [event: StepEvent];
  log: [entry: LogEntry];
  /** An evaluation or prediction pass: once as it starts (done 0), then after each batch. */
  prediction_step: [progress: PredictionProgress];
  evaluate: [metrics: Record<string, number>];
  predict: [metrics: Record<string, number>];
  save: [info: { checkpoint: string; deleted: string[] }];
  train_end: [output: TrainOutput];
}

export interface PredictionProgress {
  pass: 'evaluate' | 'predict';
  dataset: TokenizedDataset;
  /** Batches run so far. */
  done: number;
  batches: number;
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

/** Running loss sums (HF's tr_loss and _total_loss_scalar), saved with checkpoints. */
interface Accumulators {
  trLoss: number;
  stepsSinceLog: number;
  /** NaN (null in JSON) before the first step. */
  lastGradNorm: number;
  /** The learning rate the last step ran with, what HF logs; NaN (null in JSON) before the first step. */
  lastLearningRate: number;
  totalLoss: number;
  /** fp16 steps skipped for overflowing gradients: the scheduler and AdamW's step count left them out. */
  skippedSteps: number;
}

function freshAccumulators(): Accumulators {
  return {
    trLoss: 0,
    stepsSinceLog: 0,
    lastGradNorm: Number.NaN,
    lastLearningRate: Number.NaN,
    totalLoss: 0,
    skippedSteps: 0,
  };
}

/** Where a resumed run picks up the sampler: (epoch, next batch index). */
interface Position {
  epoch: number;
  batch: number;
}

/** What checkpoints read from and write to a replica. */
interface CheckpointReplica {
  readonly manifest: ArtifactManifest;
  /** Brings state kept on the device back to the host (before weights() and optimizerState()). */
  sync(): Promise<void>;
  weights(): Tensor[];
  optimizerState(): Tensor[];
  load(tensors: Iterable<Tensor>, what?: string): void;
}

/** What one train() call works with, besides the Trainer's state. */
interface TrainingRun {
  /** Checkpointed state, and fp16's loss scale for the logs. */
  replica: CheckpointReplica & Pick<Replica, 'lossScale'>;
  runner: StepRunner;
  scheduler: LRScheduler;
  /** The sampler of a tokenized split; undefined for a stream. */
  sampler: BatchSampler | undefined;
  dataset: TokenizedDataset | StreamedDataset;
  /** The global step of the last checkpoint written, -1 before any. */
  lastSaved: number;
  /** push_to_hub's uploader; absent when not pushing. */
  hub: HubPusher | undefined;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Hugging Face's Trainer over ortrain artifacts: the same arguments, step/epoch accounting, logs,
 * trainer_state.json, checkpoints and metrics keys.
 */
export class Trainer extends EventEmitter<TrainerEvents> {
  readonly args: TrainingArguments;
  state: TrainerStateJSON = initialState();
  private replica?: Replica | ReplicaGroup;
  /** Data-parallel replicas (`devices`); the sampler's batches are this many per-device batches. */
  private readonly replicas: number;
  private readonly collator: DataCollatorWithPadding;
  private readonly callbackHandler: CallbackHandler;
  /** The tokenizer for the export: the `tokenizer` option, else the files next to the model source. */
  private tokenizer: TextTokenizer | string | undefined;
  private acc: Accumulators = freshAccumulators();

  constructor(private readonly options: TrainerOptions) {
    super();
    this.args = options.args;
    this.tokenizer = options.tokenizer;
    const tokenizerObject = typeof options.tokenizer === 'object' ? options.tokenizer : undefined;
    this.collator = options.dataCollator ?? new DataCollatorWithPadding(tokenizerObject);
    this.replicas = this.args.devices ? parseDevices(this.args.devices, this.args.device).ids.length : 1;
    if (this.args.eval_strategy !== 'no' && !options.evalDataset) {
      throw new Error(
        `TrainingArguments.eval_strategy is "${this.args.eval_strategy}" but no evalDataset was given`,
      );
    }
    if (options.evalDataset && isEvalRecord(options.evalDataset) && !Object.keys(options.evalDataset).length)
      throw new Error('evalDataset is a record without any eval set');
    this.callbackHandler = new CallbackHandler(this.args, () => this.state);
    for (const cb of [...DEFAULT_CALLBACKS, ...(options.callbacks ?? [])]) this.addCallback(cb);
    this.callbackHandler.call('onInitEnd');
  }

  /** The flags callbacks set to log, evaluate, save or stop (HF's `control`). */
  get control(): TrainerControl {
    return this.callbackHandler.control;
  }

  get callbacks(): readonly TrainerCallback[] {
    return this.callbackHandler.callbacks;
  }

  /** Adds a callback, or a new instance of a callback class. */
  addCallback(callback: TrainerCallback | TrainerCallbackClass): void {
    if (!this.callbackHandler.add(callback)) {
      const name = this.callbackHandler.callbacks.at(-1)!.constructor.name;
      this.emit('message', `The Trainer already had a ${name}; it now has two`);
    }
  }

  /** Removes a callback, or the first instance of a class, and returns it (undefined if absent). */
  popCallback(callback: TrainerCallback | TrainerCallbackClass): TrainerCallback | undefined {
    return this.callbackHandler.pop(callback);
  }

  /** Removes a callback, or the first instance of a class. */
  removeCallback(callback: TrainerCallback | TrainerCallbackClass): void {
    this.callbackHandler.pop(callback);
  }

  /**
   * The replica the model runs on (a ReplicaGroup with `devices`), compiling the model first when it is a
   * source. Devices are checked before anything is compiled or written.
   */
  async getReplica(): Promise<Replica | ReplicaGroup> {
    if (this.replica) return this.replica;
    const a = this.args;
    // full_determinism keeps `auto` off CUDA (finishArguments refuses an explicit cuda).
    const device = a.full_determinism ? 'cpu' : a.device;
    if (!a.devices) {
      const provider = await selectProvider(device);
      const precisionNote = checkPrecisionDevice(a, provider.device);
      const model = await this.compiledModel(provider.device);
      this.replica = await Replica.open(model, { provider, numThreads: a.num_threads });
      this.emit('message', `Running on ${provider.device.toUpperCase()}: ${provider.reason}`);
      if (provider.device === 'cpu' && this.replica.sessions === 'binding') {
        this.emit('message', `Steps copy the whole state out through onnxruntime-node: ${cApiUnavailable()}`);
      }
      if (precisionNote) this.emit('message', precisionNote);
      return this.replica;
    }
    const plan = parseDevices(a.devices, device);
    // Every GPU is probed: a missing one fails here, before the model is compiled into output_dir.
    const providers: ProviderChoice[] = [];
    for (const id of plan.ids) providers.push(await selectProvider(providers[0]?.device ?? plan.device, id));
    const provider = providers[0]!;
    const precisionNote = checkPrecisionDevice(a, provider.device);
    const model = await this.compiledModel(provider.device);
    this.replica = await ReplicaGroup.open(model, providers, a.num_threads);
    this.emit(
      'message',
      `Running on ${provider.device.toUpperCase()} x ${providers.length} replicas (devices ${a.devices}): ${provider.reason}`,
    );
    if (precisionNote) this.emit('message', precisionNote);
    return this.replica;
  }

  /**
   * The model given compiled (checked against the arguments when this Trainer trains: evaluation and
   * prediction do not use the optimizer settings), or the source compiled with the arguments' settings.
   */
  private async compiledModel(device: Device): Promise<CompiledModel> {
    const m = this.options.model;
    if (isCompiled(m) || (typeof m === 'string' && existsSync(join(m, 'manifest.json')))) {
      const compiled = isCompiled(m) ? m : openCompiled(m);
      if (this.options.trainDataset) checkCompiledSettings(this.args, compiled.manifest, compiled.dir);
      return compiled;
    }
    const src = typeof m === 'string' ? { source: m } : m;
    const source = await resolveModelSource(src.source, this.options.hub);
    this.tokenizer ??= tokenizerFolderOf(source);
    const result = compileArtifacts(source, compileOptionsFor(this.args, src, device));
    for (const msg of result.report.messages) this.emit('message', msg);
    return result;
  }

  /** Rows per training batch over all replicas. */
  private globalBatchSize(): number {
    return this.args.per_device_train_batch_size * this.replicas;
  }

  private sampler(ds: TokenizedDataset, train: boolean): BatchSampler {
    const a = this.args;
    const batchSize = (train ? a.per_device_train_batch_size : a.per_device_eval_batch_size) * this.replicas;
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
    const epoch = this.currentEpoch();
    const withEpoch = { ...logs, ...(epoch !== undefined && { epoch }) };
    const entry: LogEntry = { ...withEpoch, step: this.state.global_step };
    this.state.log_history.push(entry);
    this.emit('log', entry);
    this.callbackHandler.logged(withEpoch);
  }

  async train(options: { resumeFromCheckpoint?: string | boolean } = {}): Promise<TrainOutput> {
    const a = this.args;
    const dataset = this.options.trainDataset;
    if (!dataset) throw new Error('Trainer.train() needs a trainDataset');
    // push_to_hub: the token and the repository are checked before anything is written.
    const hub = a.push_to_hub ? await HubPusher.open(a, this.options.hub) : undefined;
    if (isStreamed(dataset) && a.max_steps <= 0) {
      throw new Error(
        'a streamed training set has no length: set max_steps (as HF requires for an IterableDataset)',
      );
    }
    const replica = await this.getReplica();
    const sampler = isStreamed(dataset) ? undefined : this.sampler(dataset, true);
    if (sampler?.numBatches === 0) {
      const dropped = a.dataloader_drop_last ? ` of ${sampler.batchSize} rows with dataloader_drop_last` : '';
      throw new Error(`the training set (${sampler.numRows} rows) gives no batch${dropped}`);
    }
    const runner = stepRunnerFor(replica, a, replica.provider.device);
    this.state = this.planSteps(sampler?.numBatches);
    const { max_steps: maxSteps, num_train_epochs: numTrainEpochs } = this.state;
    const scheduler = new LRScheduler(
      a.lr_scheduler_type,
      a.learning_rate,
      warmupStepsFor(maxSteps, a.warmup_steps, a.warmup_ratio),
      maxSteps,
      a.lr_scheduler_kwargs,
    );
    const run: TrainingRun = { replica, runner, scheduler, sampler, dataset, lastSaved: -1, hub };

    this.acc = freshAccumulators();
    removeStaleTemps(a.output_dir);
    const resume = this.resolveResume(options.resumeFromCheckpoint);
    const position = resume ? this.restore(replica, resume, scheduler, sampler) : { epoch: 0, batch: 0 };

    this.emit('train_begin', {
      maxSteps,
      numTrainEpochs,
      // A stream's length is unknown: HF counts the examples max_steps will read.
      numExamples: isStreamed(dataset)
        ? maxSteps * this.globalBatchSize() * a.gradient_accumulation_steps
        : dataset.numRows,
      device: replica.provider,
    });
    this.callbackHandler.trainBegin();
    const control = this.control;
    if (this.state.global_step >= maxSteps) control.should_training_stop = true;
    const started = performance.now();
    const sigint =
      (this.options.handleSigint ?? true) ? new SigintWatch((t) => this.emit('message', t)) : undefined;
    try {
      for (let epoch = position.epoch; epoch < numTrainEpochs && !control.should_training_stop; epoch++) {
        await this.trainEpoch(run, epoch, epoch === position.epoch ? position.batch : 0, sigint);
      }
    } finally {
      sigint?.dispose();
    }
    await replica.sync();
    return this.finishTraining(run, started);
  }

  /**
   * A fresh state with HF's step accounting: total steps, epochs, and step options below 1 as ratios of them.
   * A stream (no `batchesPerEpoch`) runs max_steps over as many passes as it takes (HF: sys.maxsize epochs).
   */
  private planSteps(batchesPerEpoch: number | undefined): TrainerStateJSON {
    const a = this.args;
    const updatesPerEpoch = Math.max(Math.floor((batchesPerEpoch ?? 0) / a.gradient_accumulation_steps), 1);
    let maxSteps: number;
    let numTrainEpochs: number;
    if (batchesPerEpoch === undefined) {
      maxSteps = a.max_steps;
      numTrainEpochs = Number.MAX_SAFE_INTEGER;
    } else if (a.max_steps > 0) {
      maxSteps = a.max_steps;
      numTrainEpochs = Math.floor(maxSteps / updatesPerEpoch) + (maxSteps % updatesPerEpoch > 0 ? 1 : 0);
    } else {
      maxSteps = Math.ceil(a.num_train_epochs * updatesPerEpoch);
      numTrainEpochs = Math.ceil(a.num_train_epochs);
    }
    const ratio = (v: number) => (v < 1 ? Math.ceil(maxSteps * v) : v);
    return {
      ...initialState(),
      logging_steps: ratio(a.logging_steps),
      eval_steps: ratio(a.eval_steps ?? a.logging_steps),
      save_steps: ratio(a.save_steps),
      max_steps: maxSteps,
      num_train_epochs: numTrainEpochs,
      train_batch_size: a.per_device_train_batch_size,
    };
  }

  /** One epoch from batch `first` on: steps, then what the callbacks ask for after each and at the end. */
  private async trainEpoch(
    run: TrainingRun,
    epoch: number,
    first: number,
    sigint?: SigintWatch,
  ): Promise<void> {
    const control = this.control;
    const callbacks = this.callbackHandler;
    callbacks.epochBegin();
    const { sampler, dataset, runner } = run;
    const feed = isStreamed(dataset)
      ? await streamedFeed(dataset, epoch, this.globalBatchSize(), first)
      : sampledFeed(sampler!.batches(epoch, first), (rows) => this.collator.collate(dataset, rows));
    // A stream's epoch length is unknown: HF's fraction of an epoch is then batches / (max_steps * ga).
    const epochBatches = sampler?.numBatches ?? this.state.max_steps * this.args.gradient_accumulation_steps;
    const firstInRun = epoch * (sampler?.numBatches ?? STREAM_EPOCH_STRIDE) + first;
    await feed.fill(runner.batchesPerRun + 1);
    const batches = new BatchQueue(
      () => feed.next(),
      (i) => dropoutSeed(this.args.seed, firstInRun + i),
    );
    // A pass of a stream that gives nothing would loop forever (a resumed pass may be over already).
    if (batches.done && sampler === undefined && first === 0) {
      throw new Error('the streamed training set gives no batch');
    }
    let index = first; // index of the next batch in this epoch
    while (!batches.done && !control.should_training_stop && !control.should_epoch_stop) {
      const before = this.state.global_step;
      callbacks.stepBegin();
      await feed.fill(runner.batchesPerRun);
      const limit = nextFlowStep(this.args, this.state) - before;
      const results = await run.runner.run(batches, this.appliedSteps(), limit, (s) => run.scheduler.lrAt(s));
      for (const [i, r] of results.entries()) {
        if (i > 0) callbacks.stepBegin();
        index += r.batches;
        this.recordStep(r, epoch + index / epochBatches, run.scheduler);
        callbacks.call('onStepEnd');
        if (i < results.length - 1) this.checkInsideGroup(before, results.length);
        await this.maybeLogSaveEvaluate(run, { epoch, batch: index });
      }
      if (sigint?.interrupted && !control.should_training_stop) {
        const gs = this.state.global_step;
        const dir =
          run.lastSaved === gs
            ? checkpointDir(this.args.output_dir, gs)
            : await this.save(run, { epoch, batch: index });
        throw new TrainingInterrupted(dir);
      }
    }
    callbacks.call('onEpochEnd');
    await this.maybeLogSaveEvaluate(run, { epoch: epoch + 1, batch: 0 });
  }

  /** Counts a finished optimizer step into the state and the running loss sums. */
  private recordStep(r: StepOutcome, epoch: number, scheduler: LRScheduler): void {
    checkFinite(r.loss, this.state.global_step + 1);
    const learningRate = scheduler.lrAt(this.appliedSteps());
    if (r.skipped) this.acc.skippedSteps++;
    this.state.global_step++;
    this.state.epoch = epoch;
    const acc = this.acc;
    acc.trLoss += r.loss;
    acc.totalLoss += r.loss;
    acc.stepsSinceLog++;
    acc.lastGradNorm = r.gradNorm;
    acc.lastLearningRate = learningRate;
    const gs = this.state.global_step;
    this.emit('step', {
      globalStep: gs,
      maxSteps: this.state.max_steps,
      epoch,
      loss: r.loss,
      gradNorm: r.gradNorm,
      learningRate,
      ...(r.skipped !== undefined && { skipped: r.skipped }),
      ...(this.replica &&
        this.replica.provider.device !== 'cpu' && { hostDeviceBytes: this.replica.lastTransferBytes }),
    });
  }

  /** Optimizer steps applied so far: global_step less the fp16 steps skipped (the scheduler's position). */
  private appliedSteps(): number {
    return this.state.global_step - this.acc.skippedSteps;
  }

  /** Steps run together have already changed the weights past this step: nothing may be evaluated or saved there. */
  private checkInsideGroup(before: number, size: number): void {
    const c = this.control;
    if (c.should_evaluate || c.should_save || c.should_training_stop || c.should_epoch_stop) {
      throw new Error(
        `a callback asked to evaluate, save or stop at step ${this.state.global_step}, inside steps ` +
          `${before + 1}-${before + size} that ran together; set TrainingArguments.steps_per_run to 1`,
      );
    }
  }

  /** HF's _maybe_log_save_evaluate: acts on the control flags. */
  private async maybeLogSaveEvaluate(run: TrainingRun, pos: Position): Promise<void> {
    const control = this.control;
    const acc = this.acc;
    if (control.should_log && acc.stepsSinceLog > 0) {
      const logs: Record<string, number> = { loss: round(acc.trLoss / acc.stepsSinceLog, 4) };
      if (Number.isFinite(acc.lastGradNorm)) logs['grad_norm'] = acc.lastGradNorm;
      // HF (since 4.51) logs the rate the last step ran with, not the scheduler's next one, as the step event
      // reports it. A checkpoint from before lastLearningRate was saved, resumed right before an epoch-end log,
      // has no record of it: the scheduler's rate one step back.
      logs['learning_rate'] = Number.isFinite(acc.lastLearningRate)
        ? acc.lastLearningRate
        : run.scheduler.lrAt(this.appliedSteps() - 1);
      const scale = await run.replica.lossScale();
      if (scale !== undefined) logs['loss_scale'] = scale;
      acc.trLoss = 0;
      acc.stepsSinceLog = 0;
      this.log(logs);
    }
    if (control.should_evaluate) {
      const metrics = await this.evaluate();
      this.updateBest(metrics);
      // reduce_lr_on_plateau steps on the checked metric (updateBest has made sure it is there).
      const metric = this.args.metric_for_best_model;
      if (metric !== null) run.scheduler.stepOnMetric(metrics[evalMetricKey(metric)]!);
    }
    if (control.should_save) {
      const dir = await this.save(run, pos);
      await run.hub?.pushCheckpoint(dir, this.state, () => this.saveModel());
    }
  }

  private async save(run: TrainingRun, pos: Position): Promise<string> {
    await run.replica.sync();
    const dir = this.saveCheckpoint(run.replica, run.scheduler, pos);
    run.lastSaved = this.state.global_step;
    this.callbackHandler.saved();
    return dir;
  }

  /** The best model back when asked, the summary log, the export and trainer_state.json. */
  private async finishTraining(run: TrainingRun, started: number): Promise<TrainOutput> {
    const a = this.args;
    if (a.load_best_model_at_end && this.state.best_model_checkpoint) {
      const best = loadCheckpoint(this.state.best_model_checkpoint);
      run.replica.load(best.weights, this.state.best_model_checkpoint);
      this.emit(
        'message',
        `Loading best model from ${this.state.best_model_checkpoint} (score: ${this.state.best_metric})`,
      );
    }
    const runtime = (performance.now() - started) / 1000;
    const maxSteps = this.state.max_steps;
    const samples =
      a.max_steps > 0
        ? maxSteps * a.per_device_train_batch_size * this.replicas * a.gradient_accumulation_steps
        : (run.sampler?.numRows ?? 0) * a.num_train_epochs;
    const metrics: Record<string, number> = {
      train_runtime: round(runtime, 4),
      train_samples_per_second: round(samples / runtime, 3),
      train_steps_per_second: round(maxSteps / runtime, 3),
      total_flos: 0,
      train_loss: this.acc.totalLoss / Math.max(this.state.global_step, 1),
    };
    this.log(metrics);
    this.saveModel();
    writeFileAtomic(join(a.output_dir, 'trainer_state.json'), `${JSON.stringify(this.state, null, 2)}\n`);
    if (run.hub) {
      const m = this.options.model;
      const source = typeof m === 'string' || isCompiled(m) ? undefined : m.source;
      const modelName = run.hub.repo.split('/').pop()!;
      await run.hub.pushEnd(modelCard(a, this.state, { modelName, ...(source && { baseModel: source }) }));
    }
    const output: TrainOutput = {
      globalStep: this.state.global_step,
      trainingLoss: metrics['train_loss']!,
      metrics,
    };
    this.callbackHandler.call('onTrainEnd');
    this.emit('train_end', output);
    return output;
  }

  private resolveResume(r: string | boolean | undefined): string | undefined {
    if (r === undefined || r === false) return undefined;
    if (r === true) {
      const latest = latestValidCheckpoint(this.args.output_dir, (dir, reason) =>
        this.emit('message', `Skipping ${dir}: ${reason}`),
      );
      if (!latest) throw new Error(`resumeFromCheckpoint: no valid checkpoint in ${this.args.output_dir}`);
      return latest;
    }
    return r;
  }

  private restore(
    replica: CheckpointReplica,
    dir: string,
    scheduler: LRScheduler,
    sampler: BatchSampler | undefined,
  ): Position {
    const c = loadCheckpoint(dir);
    replica.load(c.weights, join(dir, 'model.safetensors'));
    replica.load(c.optimizer, join(dir, 'optimizer.safetensors'));
    const saved = c.trainerState as unknown as TrainerStateJSON;
    const changed = changedSinceCheckpoint(this.args, c.trainingArgs);
    if (changed) this.emit('message', changed);
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
    scheduler.loadStateDict(c.scheduler);
    if (sched.type !== scheduler.type) {
      this.emit(
        'message',
        `Resuming with lr_scheduler_type ${scheduler.type} (the checkpoint used ${sched.type})`,
      );
    }
    const rng = c.rngState as {
      sampler?: Position;
      global_batch_size?: number;
      loss_accumulators?: Accumulators;
    };
    const pos = rng.sampler;
    if (!pos || !Number.isInteger(pos.epoch) || !Number.isInteger(pos.batch)) {
      throw new Error(`${join(dir, 'rng_state.json')}: no sampler position`);
    }
    // Another number of replicas (or batch size) cuts the epoch into other global batches: go on from the
    // first batch not yet seen (the random and sequential orders do not depend on the batch size).
    const batchSize = this.globalBatchSize();
    const savedBatch = rng.global_batch_size ?? batchSize;
    if (savedBatch !== batchSize) {
      const seen = Math.ceil((pos.batch * savedBatch) / batchSize);
      const batch = Math.min(seen, sampler?.numBatches ?? seen);
      this.emit(
        'message',
        `Resuming with global batches of ${batchSize} rows (the checkpoint's were ${savedBatch}): ` +
          `batch ${pos.batch} becomes batch ${batch}`,
      );
      pos.batch = batch;
    }
    // The running loss sums, so the first log after resuming averages the same steps as without the stop.
    if (rng.loss_accumulators)
      Object.assign(this.acc, rng.loss_accumulators, {
        lastGradNorm: rng.loss_accumulators.lastGradNorm ?? Number.NaN,
        lastLearningRate: rng.loss_accumulators.lastLearningRate ?? Number.NaN,
        skippedSteps: rng.loss_accumulators.skippedSteps ?? 0,
      });
    this.emit(
      'message',
      `Resuming from ${dir}: step ${saved.global_step}, epoch ${pos.epoch}, batch ${pos.batch}`,
    );
    return pos;
  }

  private saveCheckpoint(replica: CheckpointReplica, scheduler: LRScheduler, pos: Position): string {
    const a = this.args;
    const gs = this.state.global_step;
    const dir = saveCheckpoint(a.output_dir, gs, {
      weights: replica.weights(),
      transposed: replica.manifest.parameters.filter((p) => p.transposed).map((p) => p.name),
      optimizer: replica.optimizerState(),
      scheduler: {
        ...scheduler.stateDict(),
        last_epoch: this.appliedSteps(),
        last_lr: scheduler.lrAt(this.appliedSteps()),
      },
      rngState: {
        seed: a.seed,
        sampler: pos,
        global_batch_size: this.globalBatchSize(),
        loss_accumulators: this.acc,
      },
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
    const key = evalMetricKey(a.metric_for_best_model);
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

  /** Runs every batch of `ds` through the eval graph (or the predict graph when it has no labels). */
  private async predictionPass(ds: TokenizedDataset, pass: PredictionProgress['pass']) {
    const replica = await this.getReplica();
    const sampler = this.sampler(ds, false);
    const numLabels = replica.manifest.model.numLabels;
    const logits = new Float32Array(ds.numRows * numLabels);
    const progress: PredictionProgress = { pass, dataset: ds, done: 0, batches: sampler.numBatches };
    this.emit('prediction_step', { ...progress });
    const started = performance.now();
    let lossSum = 0;
    let lossRows = 0;
    let offset = 0;
    for (const rows of sampler.batches(0)) {
      const r = await replica.evalBatch(this.collator.collate(ds, rows));
      logits.set(r.logits, offset);
      offset += r.logits.length;
      if (r.loss !== undefined) {
        lossSum += r.loss * rows.length;
        lossRows += rows.length;
      }
      progress.done++;
      this.callbackHandler.call('onPredictionStep');
      this.emit('prediction_step', { ...progress });
    }
    const runtime = (performance.now() - started) / 1000;
    return {
      logits,
      numLabels,
      steps: progress.done,
      runtime,
      loss: lossRows > 0 ? lossSum / lossRows : undefined,
    };
  }

  /** HF's evaluation loop: logits and `<prefix>_*` metrics. */
  private async loop(
    ds: TokenizedDataset,
    prefix: string,
    pass: PredictionProgress['pass'],
  ): Promise<{ logits: Float32Array; numLabels: number; metrics: Record<string, number> }> {
    const { logits, numLabels, steps, runtime, loss } = await this.predictionPass(ds, pass);
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
    if (loss !== undefined) metrics[`${prefix}_loss`] = loss;
    for (const [k, v] of Object.entries(raw)) metrics[k.startsWith(`${prefix}_`) ? k : `${prefix}_${k}`] = v;
    metrics[`${prefix}_runtime`] = round(runtime, 4);
    metrics[`${prefix}_samples_per_second`] = round(ds.numRows / runtime, 3);
    metrics[`${prefix}_steps_per_second`] = round(steps / runtime, 3);
    return { logits, numLabels, metrics };
  }

  /**
   * Evaluates on `evalDataset` (or the given one); logs and returns `eval_*` metrics plus `epoch`. A record of
   * eval sets is evaluated set by set with the prefix `<prefix>_<name>` (each logged on its own), and the
   * metrics merged, as HF's evaluate does with a dict.
   */
  async evaluate(ds?: EvalDataset, metricKeyPrefix = 'eval'): Promise<Record<string, number>> {
    const data = ds ?? this.options.evalDataset;
    if (!data) throw new Error('Trainer.evaluate() needs an evalDataset');
    if (isEvalRecord(data)) {
      const merged: Record<string, number> = {};
      for (const [name, set] of Object.entries(data))
        Object.assign(merged, await this.evaluate(set, `${metricKeyPrefix}_${name}`));
      return merged;
    }
    const { metrics } = await this.loop(data, metricKeyPrefix, 'evaluate');
    this.log(metrics);
    const epoch = this.currentEpoch();
    const out = { ...metrics, ...(epoch !== undefined && { epoch }) };
    this.callbackHandler.evaluated(out);
    this.emit('evaluate', out);
    return out;
  }

  /** Logits, labels and `test_*` metrics for a dataset (HF's predict). */
  async predict(ds: TokenizedDataset, metricKeyPrefix = 'test'): Promise<PredictionOutput> {
    const { logits, numLabels, metrics } = await this.loop(ds, metricKeyPrefix, 'predict');
    this.callbackHandler.predicted(metrics);
    this.emit('predict', metrics);
    return { predictions: logits, shape: [ds.numRows, numLabels], labelIds: ds.labels, metrics };
  }

  /**
   * Exports the current weights to `dir` (default output_dir) in the transformers.js layout: config.json with
   * id2label/label2id, onnx/model.onnx (and onnx/model_fp16.onnx with export_fp16), model.safetensors (HF layout) and the tokenizer files (a tokenizer
   * object's savePretrained, or a folder's files copied).
   */
  saveModel(dir = this.args.output_dir): string {
    const replica = this.replica;
    if (!replica) throw new Error('saveModel: the model is not loaded yet');
    // Live views, no copies: the export writes them out before any further step can change them.
    const weights = new Map(replica.manifest.parameters.map((p) => [p.name, replica.view(p.name)]));
    const tokenizer = this.tokenizer;
    return exportInference(replica.dir, dir, {
      weights,
      fp16: this.args.export_fp16,
      ...(typeof tokenizer === 'string' && { tokenizerDir: tokenizer }),
      ...(typeof tokenizer === 'object' && { writeTokenizer: (to: string) => tokenizer.savePretrained(to) }),
    });
  }

  async close(): Promise<void> {
    await this.replica?.release();
    this.replica = undefined;
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (k in o) out[k] = o[k];
  return out;
}

/**
 * The dropout masks' seed for one micro-batch: args.seed in the high 32 bits, the micro-batch's position in the
 * run (epoch * batches per epoch + batch) in the low ones, so a resumed run draws the masks the uninterrupted
 * one did, and every micro-batch of an accumulation or a K-step Loop draws its own.
 */
function dropoutSeed(seed: number, microBatch: number): bigint {
  return (BigInt(seed) << 32n) + BigInt(microBatch);
}
