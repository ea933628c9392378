import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '@aws-crypto/crc32c';
import protobuf from 'protobufjs';

/**
 * The part of TensorFlow's event.proto, summary.proto, tensor.proto and tensor_shape.proto that scalars and
 * text need, with TensorFlow's field numbers (what TensorBoard decodes).
 */
const SCHEMA = `
syntax = "proto3";
package tensorboard;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}
message Summary {
  message Value {
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}
message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
}
message TensorShapeProto {
  message Dim { int64 size = 1; }
  repeated Dim dim = 2;
}
message TensorProto {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  repeated bytes string_val = 8;
}
`;
const EventProto = protobuf.parse(SCHEMA, { keepCase: true }).root.lookupType('tensorboard.Event');
/** TensorFlow's DataType.DT_STRING. */
const DT_STRING = 7;

/** TFRecord's masked CRC32C: rotate right by 15, add a constant (so CRCs of CRCs stay well spread). */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length (uint64 LE), its masked CRC, the data, the data's masked CRC. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

export interface TensorBoardWriter {
  /** The events file being written. */
  readonly path: string;
  addScalar(tag: string, value: number, step: number): void;
  /** Text shown in TensorBoard's Text tab (HF writes the arguments there). */
  addText(tag: string, text: string, step: number): void;
  close(): void;
}

export interface TensorBoardOptions {
  /** Seconds since the epoch, for wall_time and the file name (default: now). */
  readonly now?: () => number;
  readonly hostname?: string;
}

/**
 * Opens a new TensorBoard events file in `logDir` (as torch's SummaryWriter names it:
 * events.out.tfevents.<seconds>.<host>.<pid>.0) and writes the file_version record. Each record is one
 * synchronous write, so TensorBoard can read the file while the run goes on and a crash loses one record at most.
 */
export function openTensorBoardWriter(logDir: string, options: TensorBoardOptions = {}): TensorBoardWriter {
  const now = options.now ?? (() => Date.now() / 1000);
  mkdirSync(logDir, { recursive: true });
  const started = now();
  const name = `events.out.tfevents.${Math.floor(started)}.${options.hostname ?? hostname()}.${process.pid}.0`;
  const path = join(logDir, name);
  let fd: number | undefined = openSync(path, 'w');
  const write = (event: Record<string, unknown>) => {
    if (fd === undefined) throw new Error(`${path}: the TensorBoard writer is closed`);
    const bytes = EventProto.encode(EventProto.fromObject({ wall_time: now(), ...event })).finish();
    writeSync(fd, tfRecord(bytes));
  };
  write({ step: 0, file_version: 'brain.Event:2' });
  return {
    path,
    addScalar(tag, value, step) {
      write({ step, summary: { value: [{ tag, simple_value: value }] } });
    },
    addText(tag, text, step) {
      const tensor = {
        dtype: DT_STRING,
        tensor_shape: { dim: [{ size: 1 }] },
        string_val: [new TextEncoder().encode(text)],
      };
      const metadata = { plugin_data: { plugin_name: 'text' } };
      write({ step, summary: { value: [{ tag: `${tag}/text_summary`, metadata, tensor }] } });
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** transformers' rewrite_logs: eval_x → eval/x, test_x → test/x, anything else → train/x. */
export function tensorBoardTag(key: string): string {
  if (key.startsWith('eval_')) return `eval/${key.slice(5)}`;
  if (key.startsWith('test_')) return `test/${key.slice(5)}`;
  return `train/${key}`;
}

/** HF's default logging_dir: `<output_dir>/runs/<Mon>DD_HH-MM-SS_<host>` (local time). */
export function defaultLoggingDir(outputDir: string, date = new Date(), host = hostname()): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const month = date.toLocaleString('en-US', { month: 'short' });
  const stamp = `${month}${two(date.getDate())}_${two(date.getHours())}-${two(date.getMinutes())}-${two(date.getSeconds())}`;
  return join(outputDir, 'runs', `${stamp}_${host}`);
}

/**
 * HF's TensorBoardCallback on a writer: the arguments as text at the start, then every number of each
 * log entry as a scalar at the entry's `step` (the step itself is not a scalar, as HF's on_log never sees it).
 */
export function tensorBoardReporter(writer: TensorBoardWriter) {
  return {
    trainBegin(argsJson: string): void {
      writer.addText('args', argsJson, 0);
    },
    log(entry: Readonly<Record<string, number | undefined>>): void {
      const step = entry['step'] ?? 0;
      for (const [key, value] of Object.entries(entry)) {
        if (key !== 'step' && typeof value === 'number') writer.addScalar(tensorBoardTag(key), value, step);
      }
    },
    close: () => writer.close(),
  };
}
