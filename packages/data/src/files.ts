/**
 * Loaders for named-column files (parquet, JSONL, CSV) — the user's own data and the hub's GLUE parquet —
 * into the same TextDataset the GLUE TSV reader returns.
 */

import { type HubOptions, hubDownload } from './hub.js';
import { type FileFormat, type RawRows, readRows } from './readers.js';
import { checkSplit, glueTask } from './tasks.js';
import { DatasetBuilder, type LabelSpec, type RowOptions, type TextDataset } from './text-dataset.js';
import { loadGlueFromDir } from './tsv.js';

export interface FileLoadOptions extends RowOptions {
  /** Default from the extension (.csv, .tsv, .json, .jsonl/.ndjson, .parquet). */
  format?: FileFormat;
  /** Split name recorded on the dataset. Default `train`. */
  split?: string;
  /** A GLUE task: its text columns and labels apply unless given below. */
  task?: string;
  /** Text columns, one or two. Required without `task`. */
  textColumns?: readonly string[];
  /** Label column; when the file lacks it the split is unlabeled. Default `label`. */
  labelColumn?: string;
  /** Index column; default `idx` when present, else the row number. */
  idxColumn?: string;
  /** Class names in id order (labels may be ids or names). Without it and `regression`, ids 0..max. */
  labelNames?: readonly string[];
  regression?: boolean;
}

function inferClasses(raw: RawRows, column: string, path: string): LabelSpec {
  let max = -1;
  raw.rows.forEach((r, i) => {
    const v = r[column];
    if (v === undefined || v === null || v === '') return;
    const n = Number(v);
    if (!Number.isInteger(n) || n < -1) {
      throw new Error(
        `${path}:${raw.unit === 'row' ? 'row ' : ''}${raw.lines[i]}: label "${String(v)}" is not a class id; pass labelNames or regression`,
      );
    }
    max = Math.max(max, n);
  });
  return { kind: 'classes', names: Array.from({ length: max + 1 }, (_, i) => String(i)) };
}

/** Loads a CSV, TSV, JSON, JSONL or parquet file with named columns. */
export async function loadDataFile(path: string, options: FileLoadOptions = {}): Promise<TextDataset> {
  const task = options.task === undefined ? undefined : glueTask(options.task);
  const split = options.split ?? 'train';
  if (task) checkSplit(task, split);
  const textColumns = options.textColumns ?? task?.textColumns;
  if (!textColumns || textColumns.length < 1 || textColumns.length > 2) {
    throw new Error(`${path}: pass textColumns (one or two column names) or a GLUE task`);
  }
  const raw = await readRows(path, options.format);
  const labelColumn = options.labelColumn ?? 'label';
  const idxColumn = options.idxColumn ?? 'idx';
  const spec: LabelSpec =
    options.regression || (options.regression === undefined && !options.labelNames && task?.isRegression)
      ? { kind: 'regression' }
      : options.labelNames
        ? { kind: 'classes', names: options.labelNames }
        : task
          ? { kind: 'classes', names: task.labelNames }
          : inferClasses(raw, labelColumn, path);
  const b = new DatasetBuilder(path, split, textColumns, spec, options, task?.name, raw.unit);
  const bad = new Map(raw.bad.map((x) => [x.line, x.problem]));
  let next = 0;
  const flushBadBefore = (line: number) => {
    for (const [l, problem] of bad) {
      if (l < line) {
        b.reject(l, problem);
        bad.delete(l);
      }
    }
  };
  for (const row of raw.rows) {
    const line = raw.lines[next++]!;
    flushBadBefore(line);
    b.add(
      line,
      textColumns.map((c) => row[c]),
      row[labelColumn],
      row[idxColumn],
    );
  }
  flushBadBefore(Number.POSITIVE_INFINITY);
  return b.build();
}

/** The `nyu-mll/glue` dataset repo on the Hugging Face Hub. */
export const GLUE_HUB_REPO = 'nyu-mll/glue';

/** Downloads (once, into the hub cache) and loads `split` of a GLUE task from the hub's parquet files. */
export async function loadGlueFromHub(
  taskName: string,
  split: string,
  options: HubOptions & RowOptions = {},
): Promise<TextDataset> {
  const task = glueTask(taskName);
  checkSplit(task, split);
  const path = await hubDownload(GLUE_HUB_REPO, `${task.name}/${split}-00000-of-00001.parquet`, {
    ...options,
    repoType: 'dataset',
  });
  return loadDataFile(path, { ...options, format: 'parquet', task: task.name, split });
}

export interface LoadGlueOptions extends HubOptions, RowOptions {
  /** A GLUE TSV distribution folder; without it the split comes from the hub (`nyu-mll/glue`). */
  dataDir?: string;
}

/** Loads a GLUE split from a local GLUE TSV folder (`dataDir`) or else from the hub cache. */
export function loadGlue(
  taskName: string,
  split: string,
  options: LoadGlueOptions = {},
): Promise<TextDataset> {
  return options.dataDir
    ? loadGlueFromDir(options.dataDir, taskName, split, options)
    : loadGlueFromHub(taskName, split, options);
}
