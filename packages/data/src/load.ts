/**
 * `load_dataset`-like loading of the user's files into a DatasetDict: one file per split, any of the
 * formats `readRows` knows. Loading is strict: the first unreadable row is an error naming file and line.
 */
import { Dataset, DatasetDict } from './dataset.js';
import { type FileFormat, readRows } from './readers.js';
import { DataError } from './text-dataset.js';

export interface LoadDatasetOptions {
  /** One file (the `train` split) or a file per split name: `{ train, validation, test }`. */
  dataFiles: string | Readonly<Record<string, string>>;
}

/** Reads one file into a Dataset whose rows remember their source line. */
export async function loadDatasetFile(path: string, format?: FileFormat): Promise<Dataset> {
  const raw = await readRows(path, format);
  const first = raw.bad[0];
  if (first) throw new DataError(path, first.line, first.problem, raw.unit);
  if (raw.rows.length === 0) {
    throw new DataError(path, raw.unit === 'line' ? 2 : 1, 'no data rows', raw.unit);
  }
  const names = [...new Set([...raw.columns, ...raw.rows.flatMap((r) => Object.keys(r))])];
  const columns = Object.fromEntries(names.map((n) => [n, raw.rows.map((r) => r[n] ?? null)]));
  return Dataset.fromDict(columns, {
    origin: { file: path, lines: Int32Array.from(raw.lines), unit: raw.unit },
  });
}

/** `loadDataset('csv', { dataFiles: { train: 'train.csv', validation: 'dev.csv' } })`. */
export async function loadDataset(format: FileFormat, options: LoadDatasetOptions): Promise<DatasetDict> {
  const files = typeof options.dataFiles === 'string' ? { train: options.dataFiles } : options.dataFiles;
  const splits: Record<string, Dataset> = {};
  for (const [split, path] of Object.entries(files)) splits[split] = await loadDatasetFile(path, format);
  return new DatasetDict(splits);
}
