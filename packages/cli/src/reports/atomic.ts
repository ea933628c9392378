import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type FileContent = string | Uint8Array | Iterable<string> | AsyncIterable<string>;

/**
 * Replaces `path` with `content` so that readers see either the old file or the complete new one:
 * the content goes to a temporary file in the same folder (same filesystem, so the rename is atomic),
 * is flushed to disk, and is renamed over `path`. If producing or writing the content fails — an
 * iterable that throws half-way included — the temporary file is removed and `path` is untouched.
 */
export async function writeFileAtomic(path: string, content: FileContent): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'w');
    try {
      if (typeof content === 'string' || content instanceof Uint8Array) await handle.writeFile(content);
      else for await (const chunk of content) await handle.write(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** JSON the way Hugging Face's `save_metrics` writes it: sorted keys, four-space indent, final newline. */
export function formatJson(value: unknown, sortKeys = true): string {
  const replacer = sortKeys
    ? (_key: string, v: unknown) =>
        v !== null && typeof v === 'object' && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
          : v
    : undefined;
  return `${JSON.stringify(value, replacer, 4)}\n`;
}

export function writeJsonAtomic(path: string, value: unknown, sortKeys = true): Promise<void> {
  return writeFileAtomic(path, formatJson(value, sortKeys));
}
