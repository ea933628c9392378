/**
 * File readers shared by every loader: CSV / TSV (csv-parse), JSON records, JSON lines and parquet
 * (hyparquet) into rows with their source line. Structural problems a row-skipping loader may skip (ragged
 * rows, a bad JSON line) are returned in `bad`; problems with the whole file (not UTF-8, empty, unclosed
 * quote, not records) throw a DataError naming file and line.
 */
import { extname } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import type { Row } from './dataset.js';
import { DataError } from './text-dataset.js';
import { readUtf8, streamUtf8 } from './text-file.js';

export type FileFormat = 'csv' | 'tsv' | 'json' | 'jsonl' | 'parquet';

export interface RawRows {
  rows: Row[];
  /** Column names in file order (CSV header, first JSON record's keys, parquet schema). */
  columns: string[];
  /** Source line (text files) or row/record (parquet, JSON array) number of each row, 1-based. */
  lines: number[];
  unit: 'line' | 'row';
  /** Rows that could not be read at all. */
  bad: { line: number; problem: string }[];
}

const EXTENSIONS: Record<string, FileFormat> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.json': 'json',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.parquet': 'parquet',
};

export function formatOf(path: string, format?: FileFormat): FileFormat {
  if (format) return format;
  const ext = extname(path).toLowerCase();
  const f = EXTENSIONS[ext];
  if (!f) {
    throw new Error(
      `${path}: cannot tell the format from "${ext}"; pass format: ${Object.values(EXTENSIONS).join(' | ')}`,
    );
  }
  return f;
}

async function readParquet(path: string): Promise<RawRows> {
  let rows: Row[];
  try {
    rows = (await parquetReadObjects({ file: await asyncBufferFromFile(path) })) as Row[];
  } catch (e) {
    throw new Error(`${path}: not a readable parquet file (${(e as Error).message})`, { cause: e });
  }
  const columns = rows[0] ? Object.keys(rows[0]) : [];
  return { rows, columns, lines: rows.map((_, i) => i + 1), unit: 'row', bad: [] };
}

/** One JSON line: the record, or why it is not one. */
export type JsonlRecord = { line: number; row: Row } | { line: number; problem: string };

/** Streams the non-blank lines of a JSONL file as records (blank lines are skipped; an empty file throws). */
export async function* jsonlRecords(path: string): AsyncGenerator<JsonlRecord> {
  let rest = '';
  let line = 0;
  let any = false;
  const parseLine = (text: string): JsonlRecord | null => {
    line++;
    if (text.trim() === '') return null;
    any = true;
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
      return { line, row: v as Row };
    } catch (e) {
      return { line, problem: `invalid JSON line (${(e as Error).message})` };
    }
  };
  for await (const chunk of streamUtf8(path)) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const p of parts) {
      const r = parseLine(p.endsWith('\r') ? p.slice(0, -1) : p);
      if (r) yield r;
    }
  }
  const last = parseLine(rest);
  if (last) yield last;
  if (!any) throw new DataError(path, 1, 'file is empty');
}

async function readJsonl(path: string): Promise<RawRows> {
  const out: RawRows = { rows: [], columns: [], lines: [], unit: 'line', bad: [] };
  for await (const r of jsonlRecords(path)) {
    if ('problem' in r) out.bad.push(r);
    else {
      out.rows.push(r.row);
      out.lines.push(r.line);
    }
  }
  out.columns = out.rows[0] ? Object.keys(out.rows[0]) : [];
  return out;
}

/** A JSON file holding an array of record objects (rows are numbered by record). */
async function readJson(path: string): Promise<RawRows> {
  let v: unknown;
  try {
    v = JSON.parse(await readUtf8(path));
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(path, 1, `invalid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(v)) {
    throw new DataError(
      path,
      1,
      'not a JSON array of records ([{"text": ..., "label": ...}, ...]); JSON lines go in a .jsonl file',
    );
  }
  v.forEach((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      throw new DataError(path, i + 1, `record is ${JSON.stringify(r)?.slice(0, 40)}, not an object`, 'row');
    }
  });
  const rows = v as Row[];
  const columns = rows[0] ? Object.keys(rows[0]) : [];
  return { rows, columns, lines: rows.map((_, i) => i + 1), unit: 'row', bad: [] };
}

interface CsvIssue {
  code: string;
  lines: number;
  message: string;
}

/** One CSV/TSV record with the (last) line it ends on. */
export interface DelimitedRecord {
  fields: string[];
  line: number;
}

/**
 * Streams the records of a CSV (or TSV) file, header first. A quote inside an unquoted field is literal (as
 * in pandas); a quoted field must close. Quoting problems and an empty file throw a DataError.
 */
export async function* delimitedRecords(
  path: string,
  delimiter: ',' | '\t',
): AsyncGenerator<DelimitedRecord> {
  const parser = parse({ delimiter, info: true, relax_column_count: true, relax_quotes: true });
  // pipeline destroys the parser with a read/decode error, so the loop below throws it.
  pipeline(Readable.from(streamUtf8(path)), parser, () => {});
  let lastLine = 0;
  try {
    for await (const r of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      lastLine = r.info.lines;
      yield { fields: r.record, line: lastLine };
    }
  } catch (e) {
    const issue = e as CsvIssue;
    if (typeof issue.code !== 'string' || !issue.code.startsWith('CSV_')) throw e;
    // An unclosed quote is only noticed at the end of the file: point at the line after the last good record.
    const line = issue.code === 'CSV_QUOTE_NOT_CLOSED' ? lastLine + 1 : issue.lines;
    throw new DataError(path, line, `quoting error: ${issue.message.replace(/ at line \d+.*$/, '')}`);
  }
  if (lastLine === 0) throw new DataError(path, 1, 'file is empty');
}

async function readDelimited(path: string, delimiter: ',' | '\t'): Promise<RawRows> {
  const out: RawRows = { rows: [], columns: [], lines: [], unit: 'line', bad: [] };
  let header: string[] | null = null;
  for await (const { fields, line } of delimitedRecords(path, delimiter)) {
    if (header === null) {
      header = fields;
      out.columns = fields;
    } else if (fields.length !== header.length) {
      out.bad.push({ line, problem: `expected ${header.length} fields, got ${fields.length}` });
    } else {
      out.rows.push(Object.fromEntries(header.map((h, i) => [h, fields[i]])));
      out.lines.push(line);
    }
  }
  return out;
}

/** Reads `path` (format from the extension unless given) into rows. */
export function readRows(path: string, format?: FileFormat): Promise<RawRows> {
  switch (formatOf(path, format)) {
    case 'csv':
      return readDelimited(path, ',');
    case 'tsv':
      return readDelimited(path, '\t');
    case 'json':
      return readJson(path);
    case 'jsonl':
      return readJsonl(path);
    case 'parquet':
      return readParquet(path);
  }
}
