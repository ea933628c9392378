/**
 * What `--model` and `--data` name, resolved to local files before anything is written: a model source the
 * artifact compiler reads, the tokenizer folder beside it, and the task's splits. Hub ids are fetched into the
 * `@ortrain/data` cache (read from it offline afterwards).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  checkSplit,
  DataError,
  type GlueTask,
  type HubOptions,
  loadDataFile,
  loadGlueFromDir,
  loadGlueFromHub,
  type TextDataset,
} from '@ortrain/data';
import { downloadHubModel, isHubId } from '@ortrain/trainer';

/** A problem with what the user named (a path, a folder's contents): exit code 1 with the message. */
export class InputError extends Error {
  override name = 'InputError';
}

/** The hub could not be reached (or is offline) and the file is not cached. */
export class HubUnavailable extends Error {
  override name = 'HubUnavailable';
}

export interface ResolvedModel {
  /** What the compiler reads: an ONNX file or an HF checkpoint folder. */
  source: string;
  /** The folder holding tokenizer.json or vocab.txt. */
  tokenizerDir: string;
  /** config.json of the model, when it has one (geometry, max_position_embeddings). */
  configFile?: string;
  /** How the user named it, for messages. */
  name: string;
}

const hasTokenizer = (dir: string) =>
  existsSync(join(dir, 'tokenizer.json')) || existsSync(join(dir, 'vocab.txt'));

/** The first folder among `dirs` with tokenizer files, or an error naming where it looked. */
function tokenizerIn(model: string, dirs: string[]): string {
  const found = dirs.find(hasTokenizer);
  if (found) return found;
  throw new InputError(
    `--model ${model}: no tokenizer (tokenizer.json or vocab.txt) in ${[...new Set(dirs)].join(' or ')}; ` +
      'put the tokenizer files of the model next to it',
  );
}

const configIn = (dir: string) =>
  existsSync(join(dir, 'config.json')) ? join(dir, 'config.json') : undefined;

/** A local model: a folder (HF checkpoint, transformers.js/Optimum layout, or holding model.onnx) or an ONNX file. */
export function resolveLocalModel(model: string): ResolvedModel {
  const path = resolve(model);
  if (!statSync(path).isDirectory()) {
    if (!path.endsWith('.onnx')) {
      throw new InputError(`--model ${model}: expected a model folder or an .onnx file`);
    }
    // `<dir>/onnx/model.onnx` (Optimum, transformers.js) keeps config and tokenizer one level up.
    const dirs =
      basename(dirname(path)) === 'onnx' ? [dirname(path), dirname(dirname(path))] : [dirname(path)];
    const configFile = dirs.map(configIn).find((c) => c !== undefined);
    return {
      source: path,
      tokenizerDir: tokenizerIn(model, dirs),
      name: model,
      ...(configFile && { configFile }),
    };
  }
  const candidates = [
    join(path, 'onnx', 'model.onnx'),
    join(path, 'model.onnx'),
    ...(existsSync(join(path, 'model.safetensors')) && existsSync(join(path, 'config.json')) ? [path] : []),
  ];
  const source = candidates.find((c) => existsSync(c));
  if (!source) {
    throw new InputError(
      `--model ${model}: no model in this folder (expected config.json + model.safetensors, onnx/model.onnx or model.onnx)`,
    );
  }
  const configFile = configIn(path);
  return { source, tokenizerDir: tokenizerIn(model, [path]), name: model, ...(configFile && { configFile }) };
}

function hubFailure(what: string, error: unknown): HubUnavailable {
  const why = (error as Error).message;
  return new HubUnavailable(`${what}: ${why}`, { cause: error });
}

/** A hub model id: config, weights and tokenizer files into the cache (or from it). */
export async function resolveHubModel(id: string, hub: HubOptions = {}): Promise<ResolvedModel> {
  if (!isHubId(id)) {
    throw new InputError(`--model ${id}: no such file or folder, and not a Hugging Face hub id`);
  }
  let dir: string;
  try {
    dir = await downloadHubModel(id, hub);
  } catch (e) {
    throw hubFailure(`model ${id}`, e);
  }
  return {
    source: dir,
    tokenizerDir: tokenizerIn(id, [dir]),
    configFile: join(dir, 'config.json'),
    name: id,
  };
}

export function resolveModel(model: string, hub: HubOptions = {}): Promise<ResolvedModel> {
  return existsSync(model) ? Promise.resolve(resolveLocalModel(model)) : resolveHubModel(model, hub);
}

/** The split a task is validated on: `validation`, or MNLI's `validation_matched`. */
export function validationSplit(task: GlueTask): string {
  return task.splits.find((s) => s.startsWith('validation')) ?? 'validation';
}

/** The test split, when the task has one (MNLI: `test_matched`). */
export function testSplit(task: GlueTask): string | undefined {
  return task.splits.find((s) => s.startsWith('test'));
}

const FILE_FORMATS = ['parquet', 'jsonl', 'csv'] as const;

/**
 * `<dir>/<split>.{parquet,jsonl,csv}` (also `dev.*` for validation unless `exact`), when the user's own files
 * are there.
 */
function ownFile(dir: string, split: string, exact = false): string | undefined {
  const names = split.startsWith('validation') && !exact ? [split, 'validation', 'dev'] : [split];
  for (const name of names) {
    for (const ext of FILE_FORMATS) {
      const file = join(dir, `${name}.${ext}`);
      if (existsSync(file)) return file;
    }
  }
  return undefined;
}

/** Where a task's splits come from: a local folder, or the hub's `nyu-mll/glue`. */
export interface DataSource {
  /** The `--data` folder; undefined for the hub. */
  readonly dir?: string;
  readonly task: GlueTask;
  readonly hub?: HubOptions;
}

/** Whether `source` has `split` (without reading it): a TSV or one of the user's files, or on the hub. */
export function hasSplit(source: DataSource, split: string): boolean {
  const { dir, task } = source;
  if (!task.splits.includes(split)) return false;
  return dir === undefined || hasTsv(dir, task, split) || ownFile(dir, split) !== undefined;
}

/**
 * The splits a run evaluates on: every validation split of the task when `source` has each from its own files
 * (MNLI: validation_matched and validation_mismatched; a `validation.*` or `dev.*` file stands for one), else
 * the one {@link validationSplit}.
 */
export function validationSplits(source: DataSource): string[] {
  const { dir, task } = source;
  const all = task.splits.filter((s) => s.startsWith('validation'));
  const own = all.filter(
    (s) => dir === undefined || hasTsv(dir, task, s) || ownFile(dir, s, true) !== undefined,
  );
  return all.length > 1 && own.length === all.length ? all : [validationSplit(task)];
}

/** Checks that `--data` is a folder before anything else reads it. */
export function checkDataDir(dir: string): void {
  if (!existsSync(dir)) throw new InputError(`--data ${dir}: no such folder`);
  if (!statSync(dir).isDirectory()) {
    throw new InputError(`--data ${dir}: expected a folder (GLUE TSV files, or train/validation/test files)`);
  }
}

/** Loads one split: GLUE TSV files first, then the user's parquet/JSONL/CSV, then the hub. */
export async function loadSplit(source: DataSource, split: string): Promise<TextDataset> {
  const { dir, task } = source;
  checkSplit(task, split);
  if (dir === undefined) {
    try {
      return await loadGlueFromHub(task.name, split, { timeoutMs: 5 * 60_000, ...source.hub });
    } catch (e) {
      if (e instanceof DataError) throw e;
      throw hubFailure(`GLUE ${task.name} ${split} from the hub`, e);
    }
  }
  const own = ownFile(dir, split);
  if (own && !hasTsv(dir, task, split)) return loadDataFile(own, { task: task.name, split });
  if (!hasTsv(dir, task, split)) {
    const tsv = task.tsvFiles[split];
    throw new InputError(
      `--data ${dir}: no ${split} split for ${task.name} (expected ${tsv ? `${tsv}.tsv, ` : ''}` +
        `${split}.parquet, ${split}.jsonl or ${split}.csv)`,
    );
  }
  return loadGlueFromDir(dir, task.name, split);
}

function hasTsv(dir: string, task: GlueTask, split: string): boolean {
  const tsv = task.tsvFiles[split];
  if (tsv === undefined) return false;
  const taskDir = existsSync(join(dir, task.glueDir)) ? join(dir, task.glueDir) : dir;
  return existsSync(join(taskDir, `${tsv}.tsv`));
}
