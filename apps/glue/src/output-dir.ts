/**
 * Where `pnpm train` and `pnpm predict` write, checked before anything is computed, and a run's output_dir
 * kept byte-for-byte as it was until the run is known good. A run writes before that point only its compiled
 * `training/` folder (the Trainer compiles into it): the previous one is moved aside first and put back when
 * the run fails. The run's own files (train_args.json, events.jsonl, TensorBoard) wait for `commit`, the
 * first step, log or save: the model compiled, the data loaded, the device ran.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { TEMP_PREFIX } from '@ortrain/artifacts';
import { type EventLog, OUTPUT_FILES, openEventLog } from '@ortrain/cli';
import { COMPILED_DIR, listCheckpoints } from '@ortrain/trainer';
import { InputError } from './resolve.js';

const REASONS: Record<string, string> = {
  EROFS: 'is on a read-only file system (EROFS)',
  EACCES: 'is not writable (EACCES: permission denied)',
  EPERM: 'is not writable (EPERM: operation not permitted)',
};

/** The closest existing folder of `path` (itself, or an ancestor), or the file that blocks it. */
function closestExisting(path: string): string {
  let p = resolve(path);
  while (!existsSync(p)) p = dirname(p);
  return p;
}

/** Proves `folder` writable by creating and removing an empty file (access(2) lets root pass where writes fail). */
function writableOrThrow(option: string, path: string, folder: string): void {
  const probe = join(folder, `${TEMP_PREFIX}probe-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const where = folder === resolve(path) ? path : `${path}: ${folder}`;
    throw new InputError(
      `${option} ${where} ${REASONS[code] ?? `cannot be written (${code})`}; nothing was written`,
    );
  }
}

/**
 * Refuses an output location that cannot be written, naming the option, what was expected and that nothing
 * was written: a folder (created with its parents when missing), or a file (`{ file: <example name> }`).
 */
export function checkOutputLocation(option: string, path: string, kind: 'folder' | { file: string }): void {
  const at = closestExisting(path);
  const isDir = statSync(at).isDirectory();
  if (at === resolve(path)) {
    if (kind === 'folder' && !isDir) {
      throw new InputError(
        `${option} ${path} is a file; expected a folder (or a path to create); nothing was written`,
      );
    }
    if (kind !== 'folder' && isDir) {
      throw new InputError(
        `${option} ${path} is a folder; expected a file path (e.g. ${join(path, kind.file)}); nothing was written`,
      );
    }
    writableOrThrow(option, path, kind === 'folder' ? at : dirname(at));
    return;
  }
  if (!isDir)
    throw new InputError(
      `${option} ${path}: ${at} is a file, so no folder can be made in it; nothing was written`,
    );
  writableOrThrow(option, path, at);
}

/** The files of a finished or started run that a new run would replace or mix with. */
const RUN_FILES = [OUTPUT_FILES.trainArgs, OUTPUT_FILES.trainerState, join('onnx', 'model.onnx')];

/** What `dir` holds of a previous run: its checkpoint folders and run files, by name. */
function previousRun(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const checkpoints = listCheckpoints(dir).map((c) => basename(c.path));
  return [...checkpoints, ...RUN_FILES.filter((f) => existsSync(join(dir, f)))];
}

/**
 * HF's check of run_glue.py: output_dir may not hold another run unless the run resumes it or
 * `--overwrite-output-dir` is given. (HF resumes a detected checkpoint on its own; ortrain asks, since resuming
 * with other options is how two runs mix.) A resume from another folder's checkpoint counts as a new run here.
 */
export function checkPreviousRun(o: {
  output_dir: string;
  overwrite_output_dir: boolean;
  resume: string | undefined;
}): void {
  if (o.overwrite_output_dir) return;
  if (o.resume !== undefined && resolve(dirname(o.resume)) === resolve(o.output_dir)) return;
  const found = previousRun(o.output_dir);
  if (found.length === 0) return;
  const shown = found.length > 4 ? [...found.slice(0, 4), `${found.length - 4} more`] : found;
  throw new InputError(
    `--output-dir ${o.output_dir} holds another run (${shown.join(', ')}): pass --resume-from-checkpoint latest ` +
      'to continue it, --overwrite-output-dir to replace it, or another --output-dir; nothing was written',
  );
}

/** Where the previous run's compiled folder waits while a new run has not proven itself. */
const SET_ASIDE = `.tmp-previous-${COMPILED_DIR}`;

/** The outputs of a previous run that `--overwrite-output-dir` deletes once the new run is known good. */
const OVERWRITTEN = [
  OUTPUT_FILES.trainerState,
  OUTPUT_FILES.trainResults,
  OUTPUT_FILES.evalResults,
  OUTPUT_FILES.allResults,
  OUTPUT_FILES.chart,
  'onnx',
];

/**
 * A run's hold on output_dir from before it compiles until `commit`: `rollback` (a no-op once committed)
 * leaves the folder as it was. A process killed before `commit` leaves the previous `training/` set aside;
 * the next `RunOutput.open` on the folder puts it back before anything else.
 */
export class RunOutput {
  private state: 'open' | 'committed' | 'rolled back' = 'open';
  private constructor(
    readonly dir: string,
    /** The first folder this run created (output_dir or an ancestor), removed on rollback. */
    private readonly created: string | undefined,
    private readonly setAside: boolean,
    private readonly overwritten: string[],
  ) {}

  static open(dir: string, overwrite: boolean): RunOutput {
    restoreSetAside(dir);
    let created: string | undefined;
    try {
      created = mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw explainWriteError(e, `--output-dir ${dir}`, 'creating it', 'nothing was written');
    }
    const compiled = join(dir, COMPILED_DIR);
    const setAside = existsSync(compiled);
    if (setAside) renameSync(compiled, join(dir, SET_ASIDE));
    const overwritten = overwrite
      ? [...listCheckpoints(dir).map((c) => c.path), ...OVERWRITTEN.map((f) => join(dir, f))]
      : [];
    return new RunOutput(dir, created, setAside, overwritten);
  }

  get committed(): boolean {
    return this.state === 'committed';
  }

  /** The run is known good: the previous compiled folder goes, and with overwrite the previous run's outputs. */
  commit(): void {
    if (this.state !== 'open') return;
    this.state = 'committed';
    if (this.setAside) rmSync(join(this.dir, SET_ASIDE), { recursive: true, force: true });
    for (const p of this.overwritten) rmSync(p, { recursive: true, force: true });
  }

  /** What a failure leaves, for its message. */
  left(): string {
    if (!this.committed) return `${this.dir} was left as it was`;
    const saved = listCheckpoints(this.dir).map((c) => c.path);
    return `the checkpoints saved before it are complete (${saved.join(', ') || 'none'}); the failed write was removed`;
  }

  /** Puts output_dir back as it was before `open`. */
  rollback(): void {
    if (this.state !== 'open') return;
    this.state = 'rolled back';
    if (this.created) {
      rmSync(this.created, { recursive: true, force: true });
      return;
    }
    rmSync(join(this.dir, COMPILED_DIR), { recursive: true, force: true });
    if (this.setAside) renameSync(join(this.dir, SET_ASIDE), join(this.dir, COMPILED_DIR));
  }
}

/** A previous `training/` left aside by a run killed before it proved itself goes back in place. */
function restoreSetAside(dir: string): void {
  const aside = join(dir, SET_ASIDE);
  if (!existsSync(aside)) return;
  rmSync(join(dir, COMPILED_DIR), { recursive: true, force: true });
  renameSync(aside, join(dir, COMPILED_DIR));
}

/** An event log that keeps its lines, each with its time, until the run is known good and `open` writes them. */
export class DeferredEventLog implements EventLog {
  private pending: [Date, string, Readonly<Record<string, unknown>> | undefined][] = [];
  private log: EventLog | undefined;
  constructor(readonly path: string) {}

  append(event: string, fields?: Readonly<Record<string, unknown>>): void {
    if (this.log) this.log.append(event, fields);
    else this.pending.push([new Date(), event, fields]);
  }

  /** A resumed run appends to its log; a new one starts it (the previous run's is replaced only now). */
  open(append: boolean): void {
    let at: Date | undefined;
    this.log = openEventLog(this.path, { append, now: () => at ?? new Date() });
    for (const [time, event, fields] of this.pending) {
      at = time;
      this.log.append(event, fields);
    }
    at = undefined;
    this.pending = [];
  }

  close(): void {
    this.log?.close();
  }
}

const WRITE_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on the device (ENOSPC)',
  EDQUOT: 'disk quota exceeded (EDQUOT)',
  ...REASONS,
};

/**
 * A failed write said with the option and path, the phase and what is left (`left`), or the error itself
 * when it is not a write failure: every file ortrain publishes is complete or absent (a temporary file is
 * removed when its write fails), so the message can say which ones stand.
 */
export function explainWriteError(error: unknown, target: string, phase: string, left: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code !== undefined ? WRITE_ERRORS[code] : undefined;
  if (reason === undefined) return error;
  const path = (error as NodeJS.ErrnoException).path;
  return new InputError(`${target}: ${reason} while ${phase}${path ? ` (${path})` : ''}; ${left}`);
}
