import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * File contents: text, bytes, a sequence of chunks written one after another (no concatenation; a generator
 * that throws half-way leaves nothing published), or a function that writes the file at the path it is given
 * (it is fsynced afterwards). Files are written in the order given.
 */
export type FileContent = string | Uint8Array | Iterable<string | Uint8Array> | ((path: string) => void);

/** Prefix of the temporary folders `writeDirAtomic` builds in; they never look like a finished folder. */
export const TEMP_PREFIX = '.tmp-';

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeFileDurable(path: string, content: FileContent): number {
  if (typeof content === 'function') {
    content(path);
    const fd = openSync(path, 'r+');
    try {
      fsyncSync(fd);
      return fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  }
  const fd = openSync(path, 'w');
  let size = 0;
  try {
    const chunks = typeof content === 'string' || content instanceof Uint8Array ? [content] : content;
    for (const chunk of chunks) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      let done = 0;
      while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
      size += bytes.byteLength;
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return size;
}

/**
 * Writes one file so that `path` holds either its old or its new content: a temporary sibling (removed if
 * anything fails), fsync, rename, fsync of the folder. Creates the folder when missing.
 */
export function writeFileAtomic(path: string, content: FileContent): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const temp = join(dir, `${TEMP_PREFIX}${basename(path)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeFileDurable(temp, content);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  fsyncPath(dir);
}

/**
 * Writes a folder so that `dir` either does not change or appears complete: files go to a temporary sibling
 * folder, each file and the folder are fsynced, then one rename publishes it and the parent is fsynced. A crash
 * at any point leaves at most a `.tmp-*` folder behind (removed by `removeStaleTemps`). An existing `dir` is
 * replaced: moved aside first, deleted after the new one is in place. Returns each file's size in bytes.
 */
export function writeDirAtomic(dir: string, files: Record<string, FileContent>): Record<string, number> {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const tmp = join(parent, `${TEMP_PREFIX}${basename(dir)}-${tag}`);
  mkdirSync(tmp);
  const sizes: Record<string, number> = {};
  try {
    for (const [name, content] of Object.entries(files)) {
      if (name.includes('/') || name.includes('\\') || name.startsWith('.')) {
        throw new Error(`writeDirAtomic: '${name}' must be a plain file name`);
      }
      sizes[name] = writeFileDurable(join(tmp, name), content);
    }
    fsyncPath(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  let old: string | undefined;
  if (existsSync(dir)) {
    old = join(parent, `${TEMP_PREFIX}old-${basename(dir)}-${tag}`);
    renameSync(dir, old);
  }
  renameSync(tmp, dir);
  fsyncPath(parent);
  if (old) rmSync(old, { recursive: true, force: true });
  return sizes;
}
