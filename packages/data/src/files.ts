/**
 * Loaders for named-column files (parquet, JSONL, CSV) — the user's own data and the hub's GLUE parquet —
 * into the same TextDataset the GLUE TSV reader returns.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { DatasetBuilder, type LabelSpec, type RowOptions, type TextDataset } from './dataset.js';
import { type HubOptions, hubDownload } from './hub.js';
import { checkSplit, glueTask } from './tasks.js';
import { loadGlueFromDir } from './tsv.js';

export type FileFormat = 'parquet' | 'jsonl' | 'csv';

export interface FileLoadOptions extends RowOptions {
  /** Default from the extension (.parquet, .jsonl/.ndjson, .csv). */
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

type Row = Record<string, unknown>;

interface RawRows {
  rows: Row[];
  /** Source line (JSONL/CSV) or row (parquet) number of each row, 1-based. */
  lines: number[];
  unit: 'line' | 'row';
  /** Problems found while parsing, reported through the builder so skipBadRows applies. */
  bad: { line: number; problem: string }[];
}

function formatOf(path: string, format?: FileFormat): FileFormat {
  if (format) return format;
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet') return 'parquet';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  throw new Error(`${path}: cannot tell the format from "${ext}"; pass format: 'parquet' | 'jsonl' | 'csv'`);
}

async function readParquet(path: string): Promise<RawRows> {
  let rows: Row[];
  try {
    rows = (await parquetReadObjects({ file: await asyncBufferFromFile(path) })) as Row[];
  } catch (e) {
    throw new Error(`${path}: not a readable parquet file (${(e as Error).message})`, { cause: e });
  }
  return { rows, lines: rows.map((_, i) => i + 1), unit: 'row', bad: [] };
}

async function readJsonl(path: string): Promise<RawRows> {
  const out: RawRows = { rows: [], lines: [], unit: 'line', bad: [] };
  const text = await readFile(path, 'utf8');
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const v = JSON.parse(i === 0 && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
      out.rows.push(v as Row);
      out.lines.push(i + 1);
    } catch (e) {
      out.bad.push({ line: i + 1, problem: `invalid JSON line (${(e as Error).message})` });
    }
  });
  return out;
}

async function readCsv(path: string): Promise<RawRows> {
  const out: RawRows = { rows: [], lines: [], unit: 'line', bad: [] };
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // csv-parse types the result as string[][] even with `info: true`.
    records = parse(await readFile(path, 'utf8'), {
      bom: true,
      info: true,
      relax_column_count: true,
    }) as unknown as typeof records;
  } catch (e) {
    throw new Error(`${path}: invalid CSV (${(e as Error).message})`, { cause: e });
  }
  const [head, ...body] = records;
  if (!head) return out;
  const header = head.record;
  for (const { record, info } of body) {
    if (record.length !== header.length) {
      out.bad.push({ line: info.lines, problem: `expected ${header.length} fields, got ${record.length}` });
      continue;
    }
    out.rows.push(Object.fromEntries(header.map((h, i) => [h, record[i]])));
    out.lines.push(info.lines);
  }
  return out;
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

/** Loads a parquet, JSONL or CSV file with named columns. */
export async function loadDataFile(path: string, options: FileLoadOptions = {}): Promise<TextDataset> {
  const task = options.task === undefined ? undefined : glueTask(options.task);
  const split = options.split ?? 'train';
  if (task) checkSplit(task, split);
  const textColumns = options.textColumns ?? task?.textColumns;
  if (!textColumns || textColumns.length < 1 || textColumns.length > 2) {
    throw new Error(`${path}: pass textColumns (one or two column names) or a GLUE task`);
  }
  const format = formatOf(path, options.format);
  const raw =
    format === 'parquet'
      ? await readParquet(path)
      : format === 'jsonl'
        ? await readJsonl(path)
        : await readCsv(path);
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
