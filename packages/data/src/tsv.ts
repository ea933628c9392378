/**
 * Reader for the original GLUE TSV distribution. Fields are split on tabs only: quotes are literal
 * characters in GLUE files (MRPC/SST-2 sentences contain unbalanced `"`), so no CSV quoting applies.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkSplit, type GlueTask, glueTask, TSV_IDX_ALIASES } from './tasks.js';
import { DataError, DatasetBuilder, type RowOptions, type TextDataset } from './text-dataset.js';
import { readUtf8 } from './text-file.js';

/** Splits file text into lines: strips a UTF-8 BOM, accepts CRLF, ignores trailing empty lines. */
export function splitLines(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

interface Layout {
  /** Field count every data line must have. */
  width: number;
  textAt: number[];
  labelAt: number;
  idxAt: number;
  /** Index of the first data line. */
  firstData: number;
}

function findColumn(header: readonly string[], aliases: readonly string[]): number {
  for (const a of aliases) {
    const i = header.indexOf(a);
    if (i >= 0) return i;
  }
  return -1;
}

/** Works out the column layout from the first line (a header, or CoLA's header-less rows). */
function detectLayout(task: GlueTask, file: string, first: readonly string[]): Layout {
  const hasTextHeader = task.textColumns.some((c) => findColumn(first, task.tsvTextAliases[c] ?? [c]) >= 0);
  const header = !hasTextHeader && task.headerless ? task.headerless : first;
  const textAt = task.textColumns.map((c) => {
    const i = findColumn(header, task.tsvTextAliases[c] ?? [c]);
    if (i < 0) {
      throw new DataError(
        file,
        1,
        `header lacks the ${task.name} text column "${c}" (looked for ${(task.tsvTextAliases[c] ?? [c]).join(' / ')}); header is: ${first.join(' | ')}`,
      );
    }
    return i;
  });
  return {
    width: header.length,
    textAt,
    labelAt: findColumn(header, task.tsvLabelAliases),
    idxAt: findColumn(header, TSV_IDX_ALIASES),
    firstData: header === first ? 1 : 0,
  };
}

/** Loads one GLUE TSV file for `task`, naming the rows with the HF `split` name. */
export async function loadGlueTsv(
  file: string,
  taskName: string,
  split: string,
  options: RowOptions = {},
): Promise<TextDataset> {
  const task = glueTask(taskName);
  checkSplit(task, split);
  const lines = splitLines(await readUtf8(file));
  const layout = detectLayout(task, file, lines[0]!.split('\t'));
  const spec = task.isRegression
    ? ({ kind: 'regression' } as const)
    : ({ kind: 'classes', names: task.labelNames } as const);
  const b = new DatasetBuilder(file, split, task.textColumns, spec, options, task.name);
  for (let li = layout.firstData; li < lines.length; li++) {
    const fields = lines[li]!.split('\t');
    if (fields.length !== layout.width) {
      b.reject(li + 1, `expected ${layout.width} tab-separated fields, got ${fields.length}`);
      continue;
    }
    b.add(
      li + 1,
      layout.textAt.map((i) => fields[i]),
      layout.labelAt >= 0 ? fields[layout.labelAt] : undefined,
      layout.idxAt >= 0 ? fields[layout.idxAt] : undefined,
    );
  }
  return b.build();
}

/**
 * Loads `split` of `task` from a GLUE distribution folder: either the root holding `MRPC/`, `SST-2/`, ...
 * or the task folder itself.
 */
export async function loadGlueFromDir(
  dir: string,
  taskName: string,
  split: string,
  options: RowOptions = {},
): Promise<TextDataset> {
  const task = glueTask(taskName);
  checkSplit(task, split);
  const taskDir = existsSync(join(dir, task.glueDir)) ? join(dir, task.glueDir) : dir;
  const file = join(taskDir, `${task.tsvFiles[split]}.tsv`);
  if (!existsSync(file)) throw new Error(`GLUE ${task.name} ${split}: no file ${file}`);
  return loadGlueTsv(file, task.name, split, options);
}
