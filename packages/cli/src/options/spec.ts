/**
 * The option-table vocabulary: one declarative record per option drives flag parsing, config-file
 * checking and `--help`. Keys are Hugging Face's snake_case `TrainingArguments` names; the flag is the
 * kebab-case spelling of the key. TrainingArguments' own entries come from @ortrain/trainer's spec.
 */
import {
  type ArgumentSpec,
  type ArgumentType,
  type ArgumentValue,
  accepts,
  expectation as expectationOf,
} from '@ortrain/trainer';

export type OptionType = ArgumentType;
export type OptionValue = ArgumentValue;

export interface OptionSpec<K extends string = string> extends ArgumentSpec<K> {
  readonly required?: boolean;
  /** Canonicalises a string before the choice check (e.g. `SST-2` -> `sst2`). */
  readonly normalize?: (raw: string) => string;
}

export function kebab(key: string): string {
  return key.replaceAll('_', '-');
}

/**
 * The flag as the user types it. Booleans that default to true are switched off with `--no-<name>`
 * (like `--no-shuffle`); other booleans are switched on with `--<name>`.
 */
export function flagOf(spec: OptionSpec): string {
  return spec.type === 'bool' && spec.default === true ? `--no-${kebab(spec.key)}` : `--${kebab(spec.key)}`;
}

const TYPE_PLACEHOLDER: Record<OptionType, string> = {
  int: 'int',
  float: 'float',
  string: 'value',
  enum: 'name',
  bool: '',
  path: 'path',
  json: 'json',
};

/** `dir`, `float`, or a short enum's choices (`no|steps|epoch`). */
export function placeholderOf(spec: OptionSpec): string {
  if (spec.valueName) return spec.valueName;
  const choices = spec.choices?.join('|');
  return choices !== undefined && choices.length <= 16 ? choices : TYPE_PLACEHOLDER[spec.type];
}

/** The flag of an option key: `--num-train-epochs`. */
export const flagName = (key: string): string => `--${kebab(key)}`;

/** What a valid value looks like, for error messages: "an integer >= 1", "one of no, steps, epoch". */
export function expectation(spec: OptionSpec): string {
  return expectationOf(spec, flagName);
}

/** Thrown by `coerce` with the expectation only; callers prefix where the value came from. */
export class ValueError extends Error {}

const INT_RE = /^[+-]?\d+$/;
// Decimal or scientific notation, as Python's float() reads them (no hex, no Infinity/NaN).
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function describe(raw: unknown): string {
  return typeof raw === 'string' ? `'${raw}'` : JSON.stringify(raw);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Turns a raw value (a flag's string, or a JSON value from a config file) into a typed, validated
 * value. Numeric strings are accepted in config files too, since `"5e-5"` is a common way to write them.
 * A `json` option's flag is JSON text (HF's CLI reads dict options so); a `list` enum's is comma-separated.
 */
export function coerce(spec: OptionSpec, raw: unknown): OptionValue {
  const fail = (): never => {
    throw new ValueError(`expected ${expectation(spec)}, got ${describe(raw)}`);
  };
  let value: unknown = raw;
  if (typeof raw === 'string') {
    const text = raw.trim();
    if (spec.type === 'int' || spec.type === 'float') {
      value = (spec.type === 'int' ? INT_RE : FLOAT_RE).test(text) ? Number(text) : undefined;
    } else if (spec.type === 'bool') value = text === 'true' ? true : text === 'false' ? false : undefined;
    else if (spec.type === 'json') value = parseJson(text);
    else if (spec.type === 'enum') {
      const normalize = spec.normalize ?? ((name: string) => name);
      value =
        spec.list && text.includes(',') ? text.split(',').map((n) => normalize(n.trim())) : normalize(raw);
    }
  }
  if (value === null || !accepts(spec, value)) return fail();
  return value as OptionValue;
}
