/**
 * `pnpm train`: resolve the model and data (falling back to the embedded default when the default run cannot
 * reach the hub), check every input before writing anything, then compile, train with evaluation, and leave
 * the results files, the event log, the run chart and the exported model in output_dir.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { familyOf, maxSequenceLength, readBertConfig } from '@ortrain/artifacts';
import {
  createReporter,
  defaultLoggingDir,
  formatMetrics,
  OUTPUT_FILES,
  openTensorBoardWriter,
  type ProgressReporter,
  parseTrainArgs,
  saveMetrics,
  saveOptions,
  shellQuote,
  type TrainOptions,
  tensorBoardReporter,
  writeRunChart,
} from '@ortrain/cli';
import {
  type ClassificationTask,
  type Dataset,
  type GlueTask,
  glueTask,
  hubOfflineFromEnv,
  type TextDataset,
  TextTokenizer,
  type TokenizedDataset,
  taskComputeMetrics,
  tokenizeDataset,
} from '@ortrain/data';
import {
  EarlyStoppingCallback,
  type EvalDataset,
  listCheckpoints,
  type Replica,
  type ReplicaGroup,
  reportsTo,
  type StreamedDataset,
  Trainer,
  TrainingArguments,
  TrainingInterrupted,
} from '@ortrain/trainer';
import { EMBEDDED_TRAINING, writeEmbeddedDefault } from '../embedded/index.js';
import {
  checkOutputLocation,
  checkPreviousRun,
  DeferredEventLog,
  explainWriteError,
  RunOutput,
} from '../output-dir.js';
import { checkSplitFor, checkTokenizerFits, type SplitUse } from '../preflight.js';
import { modelMetrics, reportEvaluations } from '../reporting.js';
import {
  checkDataDir,
  type DataSource,
  HubUnavailable,
  hasSplit,
  InputError,
  loadSplit,
  type ResolvedModel,
  resolveLocalModel,
  resolveModel,
  testSplit,
  validationSplit,
  validationSplits,
} from '../resolve.js';
import { checkResumeMatches, resumePoint } from '../resume.js';
import { loadUserFiles, streamedTrainSet, type UserData } from '../user-data.js';
import { writeSplitPredictions } from './predict.js';

/** Where the embedded default's generated model and data go (git-ignored). */
export const EMBEDDED_DIR = join('artifacts', 'embedded');

interface Inputs {
  model: ResolvedModel;
  data: DataSource;
  /** The embedded default runs instead of the hub's. */
  embedded: boolean;
}

/**
 * The default run (no --model, no --data, MRPC) is the course's job on the hub; when the hub cannot be
 * reached and nothing is cached it says so in one line and runs the embedded default. Anything the user named
 * explicitly must be reachable.
 */
async function resolveInputs(
  o: TrainOptions,
  isDefault: boolean,
  task: GlueTask,
  say: (s: string) => void,
): Promise<Inputs> {
  if (o.data !== undefined) checkDataDir(o.data);
  const data: DataSource = { task, ...(o.data !== undefined && { dir: o.data }) };
  if (!isDefault) return { model: await resolveModel(o.model), data, embedded: false };
  try {
    const model = await resolveModel(o.model);
    // Fetch (or find cached) every split the run reads, so a missing one falls back here too.
    for (const split of ['train', validationSplit(task)]) await loadSplit(data, split);
    return { model, data, embedded: false };
  } catch (e) {
    if (!(e instanceof HubUnavailable)) throw e;
    const offline = hubOfflineFromEnv();
    say(
      `${offline ? 'hub offline (HF_HUB_OFFLINE=1)' : 'hub unreachable'} and ${o.model} / GLUE ${task.name} ` +
        'not cached: running the embedded default (tiny BERT + generated MRPC-style data, see apps/glue/README.md)' +
        (offline ? '' : ` [${e.message}]`),
    );
    const files = await writeEmbeddedDefault(EMBEDDED_DIR);
    return { model: resolveLocalModel(files.modelDir), data: { task, dir: files.dataDir }, embedded: true };
  }
}

/** The embedded default's hyperparameters, for every option the user did not set. */
function applyEmbeddedSettings(o: TrainOptions, isSet: (k: keyof TrainOptions) => boolean): void {
  const e = EMBEDDED_TRAINING;
  const defaults: Partial<TrainOptions> = {
    learning_rate: e.learningRate,
    per_device_train_batch_size: e.trainBatchSize,
    per_device_eval_batch_size: e.evalBatchSize,
    num_train_epochs: e.epochs,
    warmup_ratio: e.warmupRatio,
    weight_decay: e.weightDecay,
    max_grad_norm: e.maxGradNorm,
    max_seq_length: e.maxSeqLength,
    seed: e.seed,
    // A few hundred steps: log often enough for a loss curve, checkpoint each epoch.
    logging_steps: 10,
    save_strategy: 'epoch',
  };
  for (const [k, v] of Object.entries(defaults) as [keyof TrainOptions, never][]) {
    if (!isSet(k)) o[k] = v;
  }
}

/** The longest sequence the model's position embeddings hold (its family's), when it has a config.json. */
function modelPositions(model: ResolvedModel): number | undefined {
  if (!model.configFile) return undefined;
  const config = readBertConfig(model.configFile);
  return maxSequenceLength(config, familyOf(config.modelType));
}

/** `--max-seq-length`, checked against the model's position embeddings; default the tokenizer's maximum. */
function maxSeqLength(o: TrainOptions, model: ResolvedModel, tokenizer: TextTokenizer): number {
  const positions = modelPositions(model);
  if (o.max_seq_length === undefined) return Math.min(tokenizer.modelMaxLength, positions ?? Infinity);
  if (positions !== undefined && o.max_seq_length > positions) {
    throw new InputError(
      `--max-seq-length ${o.max_seq_length}: the model's position embeddings hold ${positions} tokens (max_position_embeddings)`,
    );
  }
  return o.max_seq_length;
}

interface Splits {
  train: TokenizedDataset | StreamedDataset;
  /** One set, or MNLI's matched and mismatched by name (metrics `eval_matched_*`, `eval_mismatched_*`). */
  eval?: EvalDataset;
  /** The split names evaluated on, for the summary. */
  evalName: string;
  test?: TokenizedDataset;
  names: Map<TokenizedDataset, string>;
  sizes: Record<string, number>;
}

async function loadSplits(
  data: DataSource,
  user: UserData | undefined,
  tokenizer: TextTokenizer,
  maxLength: number,
  needEval: boolean,
  wantTest: boolean,
): Promise<Splits> {
  const names = new Map<TokenizedDataset, string>();
  const sizes: Record<string, number> = {};
  const load = async (split: string, use?: SplitUse): Promise<TokenizedDataset> => {
    const raw: TextDataset | Dataset = user ? user.splits[split]! : await loadSplit(data, split);
    if (use) checkSplitFor(use, raw, split);
    const ds = tokenizeDataset(raw, tokenizer, {
      maxSeqLength: maxLength,
      textColumns: (user?.task ?? data.task).textColumns,
    });
    names.set(ds, split);
    sizes[split] = raw.numRows;
    return ds;
  };
  const has = (split: string) => (user ? user.splits[split] !== undefined : hasSplit(data, split));
  if (user && needEval && !has('validation')) {
    throw new InputError('--train-file: evaluation needs --validation-file (or --eval-strategy no)');
  }
  const stream = user?.trainStream;
  if (stream) sizes['train'] = stream.rows;
  const train = stream ? streamedTrainSet(user, tokenizer, maxLength) : await load('train', 'training');
  const validations = user ? [validationSplit(data.task)] : validationSplits(data);
  const [validation] = validations as [string];
  let evalDs: EvalDataset | undefined;
  if (needEval && validations.length > 1) {
    const sets: Record<string, TokenizedDataset> = {};
    for (const split of validations)
      sets[split.replace(/^validation_/, '')] = await load(split, 'evaluation');
    evalDs = sets;
  } else if (needEval) evalDs = await load(validation, 'evaluation');
  const test = testSplit(data.task);
  const testDs = (wantTest || user) && test !== undefined && has(test) ? await load(test) : undefined;
  return {
    train,
    names,
    sizes,
    evalName: validations.join(' and '),
    ...(evalDs && { eval: evalDs }),
    ...(testDs && { test: testDs }),
  };
}

/** The short name of a model in the default output folder: `bert-base-uncased`, a folder's name. */
function modelShortName(model: ResolvedModel, embedded: boolean): string {
  if (embedded) return 'embedded';
  const name = basename(model.name.replace(/\/+$/, '')).replace(/\.onnx$/, '');
  return name === 'model' || name === 'onnx' ? basename(model.tokenizerDir) : name;
}

export async function train(argv: readonly string[]): Promise<number> {
  const parsed = parseTrainArgs(argv);
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return 0;
  }
  const o: TrainOptions = { ...parsed.options };
  const isSet = (k: keyof TrainOptions) => parsed.sources[k] !== 'default';
  if (o.streaming && o.train_file === undefined) {
    throw new InputError('--streaming reads --train-file as a stream: pass --train-file');
  }
  const user = o.train_file !== undefined ? await loadUserFiles(o) : undefined;
  const task = user?.task ?? glueTask(o.task);
  const isDefault = !isSet('model') && !isSet('data') && !user && task.name === 'mrpc';

  const say = (s: string) => process.stdout.write(`${s}\n`);
  const inputs = await resolveInputs(o, isDefault, glueTask(o.task), say);
  if (inputs.embedded) {
    applyEmbeddedSettings(o, isSet);
    o.model = inputs.model.name;
    o.data = inputs.data.dir;
  }
  if (!isSet('output_dir')) {
    o.output_dir = join('artifacts', `${task.name}-${modelShortName(inputs.model, inputs.embedded)}`);
  }
  checkOutputLocation('--output-dir', o.output_dir, 'folder');
  const resume = resumePoint(o, (text) => process.stderr.write(`warning: ${text}\n`));
  if (resume) checkResumeMatches(resume, o, task);
  const tokenizer = await TextTokenizer.fromPretrained(inputs.model.tokenizerDir);
  checkTokenizerFits(tokenizer, inputs.model);
  const maxLength = maxSeqLength(o, inputs.model, tokenizer);
  const args = TrainingArguments.fromOptions(o);
  const splits = await loadSplits(
    inputs.data,
    user,
    tokenizer,
    maxLength,
    args.do_eval, // HF's: evaluate after training (and during it: any eval_strategy but no implies it)
    inputs.embedded,
  );
  checkPreviousRun({ ...o, resume });
  const reporter = createReporter();
  const trainer = reportEvaluations(
    newTrainer(o, inputs, splits, args, task),
    reporter,
    (ds) => splits.names.get(ds) ?? 'data',
    true,
  );
  // Every event waits in memory until the run is known good; only then does output_dir get its files.
  const events = new DeferredEventLog(join(o.output_dir, OUTPUT_FILES.events));
  trainer.on('message', (text) => {
    events.append('message', { text });
    // The device line, the newly-initialized warning and the resume point are in the summary already.
    const inSummary = ['Running on', 'Resuming from'].some((s) => text.startsWith(s));
    if (!inSummary && !text.includes('newly initialized')) reporter.message(text);
  });
  const configFile = join(o.output_dir, OUTPUT_FILES.trainArgs);
  const context: RunContext = {
    resume,
    configFile,
    events,
    reporter,
    task,
    maxLength,
    tensorboard: undefined,
  };
  const output = RunOutput.open(o.output_dir, o.overwrite_output_dir && resume === undefined);
  let phase = 'compiling the model into training/';
  // The first step, log or save proves the run: the model compiled, the data loaded, the device ran.
  const commit = () => {
    if (output.committed) return;
    output.commit();
    phase = 'training (checkpoints, logs)';
    // The token stays out of files, as HF's <HUB_TOKEN>: a rerun takes it from HF_TOKEN or the flag again.
    // A run on your files has no GLUE task (run_glue's task_name None): train_file and the columns say it.
    saveOptions(configFile, {
      ...o,
      resume_from_checkpoint: undefined,
      hub_token: undefined,
      ...(user && { task: undefined }),
    });
    events.open(resume !== undefined);
    // report_to tensorboard: HF's TensorBoardCallback, on the trainer's events.
    if (reportsTo(args, 'tensorboard')) {
      context.tensorboard = tensorBoardReporter(
        openTensorBoardWriter(args.logging_dir ?? defaultLoggingDir(args.output_dir)),
      );
      context.tensorboard.trainBegin(JSON.stringify(trainer.args.toJSON(), null, 2));
    }
  };
  for (const event of ['step', 'log', 'save'] as const) trainer.on(event, commit);
  // The summary log comes right before the export.
  trainer.on('log', (entry) => {
    if (entry['train_runtime'] !== undefined) phase = 'exporting the model and writing the results';
  });
  try {
    const replica = await trainer.getReplica();
    checkTokenizerFits(tokenizer, inputs.model, replica.manifest);
    return await run(o, inputs, splits, trainer, replica, context);
  } catch (e) {
    output.rollback();
    throw explainWriteError(e, `--output-dir ${o.output_dir}`, phase, output.left());
  } finally {
    context.tensorboard?.close();
    reporter.close();
    events.close();
    await trainer.close();
  }
}

function newTrainer(
  o: TrainOptions,
  inputs: Inputs,
  splits: Splits,
  args: TrainingArguments,
  task: ClassificationTask,
): Trainer {
  const labelNames = task.isRegression ? undefined : [...task.labelNames];
  return new Trainer({
    // The Trainer compiles it with the arguments' settings into output_dir/training.
    model: { source: inputs.model.source, numLabels: task.numLabels, ...(labelNames && { labelNames }) },
    args,
    trainDataset: splits.train,
    ...(splits.eval && { evalDataset: splits.eval }),
    tokenizer: inputs.model.tokenizerDir,
    computeMetrics: taskComputeMetrics(task),
    ...(o.early_stopping_patience !== undefined && {
      callbacks: [
        new EarlyStoppingCallback({
          early_stopping_patience: o.early_stopping_patience,
          early_stopping_threshold: o.early_stopping_threshold,
        }),
      ],
    }),
  });
}

interface RunContext {
  resume: string | undefined;
  configFile: string;
  events: DeferredEventLog;
  reporter: ProgressReporter;
  task: ClassificationTask;
  maxLength: number;
  tensorboard: ReturnType<typeof tensorBoardReporter> | undefined;
}

async function run(
  o: TrainOptions,
  inputs: Inputs,
  splits: Splits,
  trainer: Trainer,
  replica: Replica | ReplicaGroup,
  c: RunContext,
): Promise<number> {
  const { reporter, events, task } = c;
  const labelNames = task.isRegression ? undefined : [...task.labelNames];
  const m = replica.manifest;
  const count = (ps: typeof m.parameters) => ps.reduce((n, p) => n + p.shape.reduce((a, d) => a * d, 1), 0);

  trainer.on('train_begin', (info) => {
    const step = trainer.state.global_step;
    events.append('train_begin', {
      max_steps: info.maxSteps,
      num_examples: info.numExamples,
      resumed_step: step,
    });
    reporter.trainingStarted({
      task: task.name,
      ...(labelNames && { labelNames }),
      splits: splits.sizes,
      model: inputs.model.name,
      architecture: familyOf(m.model.architecture).className,
      geometry: {
        layers: m.model.numHiddenLayers,
        hiddenSize: m.model.hiddenSize,
        heads: m.model.numAttentionHeads,
        intermediateSize: m.model.intermediateSize,
        vocabSize: m.model.vocabSize,
        maxPositions: m.model.maxPositionEmbeddings,
      },
      totalParameters: count(m.parameters),
      trainableParameters: count(m.parameters.filter((p) => p.trainable)),
      device: replica.provider.device.toUpperCase(),
      deviceReason: replica.provider.reason,
      ...(o.num_threads > 0 && { threads: o.num_threads }),
      // A resumed run's head comes trained from the checkpoint: HF's warning would be wrong there.
      newlyInitialized: c.resume && step > 0 ? [] : m.newlyInitialized,
      numExamples: info.numExamples,
      numEpochs: info.numTrainEpochs,
      perDeviceBatchSize: o.per_device_train_batch_size,
      gradientAccumulationSteps: o.gradient_accumulation_steps,
      totalSteps: info.maxSteps,
      outputDir: o.output_dir,
      ...(c.resume && step > 0 && { resumedFrom: { checkpoint: c.resume, step } }),
    });
  });
  trainer.on('step', (e) =>
    reporter.step({ step: e.globalStep, epoch: e.epoch, loss: e.loss, learningRate: e.learningRate }),
  );
  trainer.on('log', (entry) => {
    events.append('log', entry);
    c.tensorboard?.log(entry);
    if (entry['loss'] !== undefined) reporter.log(entry);
  });
  let lastSaved = -1;
  trainer.on('save', (info) => {
    const step = trainer.state.global_step;
    events.append('save', { step, ...info });
    // The last step is saved for max_steps and again at the epoch's end: one line is enough.
    if (step !== lastSaved) reporter.checkpointSaved(info.checkpoint, step);
    lastSaved = step;
  });

  let output: Awaited<ReturnType<Trainer['train']>>;
  try {
    output = await trainer.train(c.resume ? { resumeFromCheckpoint: c.resume } : {});
  } catch (e) {
    if (!(e instanceof TrainingInterrupted)) throw e;
    reporter.close();
    events.append('interrupted', { checkpoint: e.checkpoint });
    const cmd = ['pnpm', 'train', '--config', c.configFile, '--resume-from-checkpoint', e.checkpoint];
    process.stderr.write(
      `Interrupted: state saved to ${e.checkpoint}. Resume with: ${cmd.map(shellQuote).join(' ')}\n`,
    );
    return 130;
  }

  const files: string[] = [OUTPUT_FILES.trainerState];
  const trainMetrics = { ...output.metrics, epoch: trainer.state.epoch };
  await saveMetrics(o.output_dir, 'train', trainMetrics);
  files.push(OUTPUT_FILES.trainResults);

  // The final model's metrics: the evaluations at the last step when there were some (and the final weights
  // are that step's; one log entry per eval set), else a fresh evaluation.
  let evalMetrics: Record<string, number> | undefined;
  if (splits.eval) {
    const gs = trainer.state.global_step;
    const isEval = (k: string) => /^eval_(.+_)?loss$/.test(k);
    const last = trainer.state.log_history.filter((e) => e.step === gs && Object.keys(e).some(isEval));
    const reuse = last.length > 0 && !o.load_best_model_at_end;
    const latest: Record<string, number> = reuse ? Object.assign({}, ...last) : await trainer.evaluate();
    const { step: _step, ...metrics } = latest;
    evalMetrics = metrics;
    await saveMetrics(o.output_dir, 'eval', evalMetrics);
    files.push(OUTPUT_FILES.evalResults);
  }
  files.push(OUTPUT_FILES.allResults);

  if (splits.test) {
    const test = splits.names.get(splits.test) ?? 'test';
    const written = await writeSplitPredictions(trainer, splits.test, {
      task,
      split: test,
      output: join(o.output_dir, `predictions_${test}.tsv`),
    });
    if (written.metrics) await saveMetrics(o.output_dir, 'test', written.metrics);
    const scores = written.metrics ? `; ${test} ${formatMetrics(modelMetrics(written.metrics, 'test'))}` : '';
    reporter.message(
      `predict ${test}: ${written.rows} rows -> ${written.submission} (+ ${basename(written.details)})${scores}`,
    );
    files.push(basename(written.submission), basename(written.details));
  }

  const chart = join(o.output_dir, OUTPUT_FILES.chart);
  const shown = evalMetrics ? formatMetrics(modelMetrics(evalMetrics, 'eval')) : '';
  await writeRunChart(chart, trainer.state.log_history, {
    title: `${task.name} · ${inputs.model.name}`,
    subtitle: shown,
  });
  files.push(OUTPUT_FILES.chart, OUTPUT_FILES.events, OUTPUT_FILES.trainArgs);
  events.append('train_end', trainMetrics);

  const best = trainer.state.best_model_checkpoint;
  const dataHint = o.data ?? o.test_file ?? o.validation_file;
  reporter.trainingFinished({
    globalStep: output.globalStep,
    epoch: trainer.state.epoch,
    trainRuntime: output.metrics['train_runtime'] ?? 0,
    trainSamplesPerSecond: output.metrics['train_samples_per_second'] ?? 0,
    trainStepsPerSecond: output.metrics['train_steps_per_second'] ?? 0,
    trainLoss: output.trainingLoss,
    ...(evalMetrics && {
      finalMetrics: evalMetrics,
      metricsSplit: splits.evalName,
    }),
    outputDir: o.output_dir,
    modelDir: o.output_dir,
    checkpoints: listCheckpoints(o.output_dir).map((e) => e.path),
    ...(best && existsSync(best) && { bestCheckpoint: best }),
    files,
    configFile: c.configFile,
    // The predict hint: the data folder, or for a run on your files one of them.
    ...(dataHint !== undefined && { data: dataHint }),
  });
  return 0;
}
