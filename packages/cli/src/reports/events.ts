import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** One line of the JSONL run log: when, what, and the event's own fields. */
export interface RunEvent {
  readonly time: string;
  readonly event: string;
  readonly [field: string]: unknown;
}

export interface EventLog {
  readonly path: string;
  /** Appends one JSON line, e.g. `append('log', { step: 500, loss: 0.41, learning_rate: 3.2e-5 })`. */
  append(event: string, fields?: Readonly<Record<string, unknown>>): void;
  close(): void;
}

export interface EventLogOptions {
  /** Keep the existing lines (a resumed run); default false starts a new log. */
  readonly append?: boolean;
  readonly now?: () => Date;
}

/**
 * Opens the JSONL log of every event of a run. Each event is one synchronous `write` of a whole line,
 * so the log is in event order and a crash loses at most the line being written.
 */
export function openEventLog(path: string, options: EventLogOptions = {}): EventLog {
  mkdirSync(dirname(path), { recursive: true });
  const now = options.now ?? (() => new Date());
  let fd: number | undefined = openSync(path, options.append ? 'a' : 'w');
  return {
    path,
    append(event, fields = {}) {
      if (fd === undefined) throw new Error(`${path}: the event log is closed`);
      writeSync(fd, `${JSON.stringify({ time: now().toISOString(), event, ...fields })}\n`);
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** Reads a JSONL run log back; a line that is not a JSON event is reported with its line number. */
export function readEventLog(path: string): RunEvent[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const events: RunEvent[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new Error(`${path}:${i + 1}: not a JSON line (${(error as Error).message})`);
    }
    const event = parsed as Partial<RunEvent> | null;
    if (typeof event?.event !== 'string' || typeof event.time !== 'string') {
      throw new Error(`${path}:${i + 1}: expected an object with "time" and "event"`);
    }
    events.push(event as RunEvent);
  });
  return events;
}
