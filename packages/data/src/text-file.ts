/**
 * Reading text files strictly as UTF-8: a byte sequence that is not UTF-8 is an error naming the file and
 * the first bad line, never a silent U+FFFD replacement. A leading BOM is dropped.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DataError } from './text-dataset.js';

const strict = new TextDecoder('utf-8', { fatal: true });

/** 1-based line of the first invalid UTF-8 sequence in `bytes` (only called once decoding has failed). */
function firstBadLine(bytes: Uint8Array): number {
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        strict.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return line;
}

/** Decodes `bytes` read from `file` as strict UTF-8 (BOM dropped). */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return strict.decode(bytes);
  } catch {
    throw new DataError(file, firstBadLine(bytes), 'not valid UTF-8 (save the file as UTF-8)');
  }
}

/** Reads a whole text file as strict UTF-8; an empty file (nothing but whitespace) is an error. */
export async function readUtf8(file: string): Promise<string> {
  const text = decodeUtf8(await readFile(file), file);
  if (text.trim() === '') throw new DataError(file, 1, 'file is empty');
  return text;
}

/**
 * Streams a text file as strict UTF-8 string chunks (BOM dropped). On invalid bytes the file is read again
 * to name the first bad line: only the error path pays for it.
 */
export async function* streamUtf8(file: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of createReadStream(file)) yield decoder.decode(chunk as Buffer, { stream: true });
    yield decoder.decode();
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    decodeUtf8(await readFile(file), file);
    throw e;
  }
}
