import { readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../reports/atomic.js';
import { coerce, type OptionSpec, type OptionValue, ValueError } from './spec.js';

/** Levenshtein distance, for "did you mean" hints on misspelt config keys. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

function suggestKey(key: string, specs: readonly OptionSpec[]): string {
  const snake = key.replaceAll('-', '_').replace(/^_+/, '');
  // `no_shuffle` is the flag's spelling; the file sets the option itself.
  const negated = specs.find((s) => s.type === 'bool' && `no_${s.key}` === snake);
  if (negated) return ` (did you mean '${negated.key}': false?)`;
  let best: string | undefined;
  let bestDistance = 3;
  for (const spec of specs) {
    const d = spec.key === snake ? 0 : distance(snake, spec.key);
    if (d < bestDistance) [best, bestDistance] = [spec.key, d];
  }
  return best ? ` (did you mean '${best}'?)` : '';
}

/**
 * Reads a `--config` file: a JSON object whose keys are the options' snake_case names. `null` values
 * mean "unset". Every unknown key and bad value is reported, each prefixed with the file name.
 */
export function readConfigFile(
  file: string,
  specs: readonly OptionSpec[],
): { values: Map<string, OptionValue>; errors: string[] } {
  const values = new Map<string, OptionValue>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { values, errors: [`${file}: cannot read the config file (${(error as Error).message})`] };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { values, errors: [`${file}: not valid JSON (${(error as Error).message})`] };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { values, errors: [`${file}: expected a JSON object of options, e.g. {"learning_rate": 2e-5}`] };
  }
  const errors: string[] = [];
  for (const [key, raw] of Object.entries(parsed)) {
    const spec = specs.find((s) => s.key === key || s.aliases?.includes(key));
    if (!spec) {
      errors.push(`${file}: unknown option '${key}'${suggestKey(key, specs)}`);
      continue;
    }
    if (raw === null) continue;
    try {
      values.set(spec.key, coerce(spec, raw));
    } catch (error) {
      if (!(error instanceof ValueError)) throw error;
      errors.push(`${file}: '${key}': ${error.message}`);
    }
  }
  return { values, errors };
}

/**
 * Writes resolved options as a config file that `--config` reads back (unset options are left out),
 * so a run can be repeated or resumed with exactly its settings.
 */
export function saveOptions(path: string, options: object): void {
  const set = Object.entries(options).filter(([, v]) => v !== undefined);
  writeJsonAtomic(path, Object.fromEntries(set));
}
