import { writeFileAtomic } from '@ortrain/trainer';

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

/** Writes `value` as `formatJson` does, atomically (@ortrain/trainer's writeFileAtomic). */
export function writeJsonAtomic(path: string, value: unknown, sortKeys = true): void {
  writeFileAtomic(path, formatJson(value, sortKeys));
}
