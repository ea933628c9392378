/**
 * The option-table vocabulary: one declarative record per option drives flag parsing, config-file
 * checking and `--help`. Keys are Hugging Face's snake_case `TrainingArguments` names; the flag is the
 * kebab-case spelling of the key.
 */

export type OptionType = 'int' | 'float' | 'string' | 'enum' | 'bool' | 'path';
export type OptionValue = number | string | boolean;

/** A numeric constraint, with the wording used in error messages and help (`> 0`, `in [0, 1]`). */
export interface NumberCheck {
  readonly ok: (value: number) => boolean;
  readonly expected: string;
}

export interface OptionSpec<K extends string = string> {
  /** snake_case name: the key in the parsed options and in `--config` files. */
  readonly key: K;
  readonly type: OptionType;
  /** Section of `--help` the option is listed under. */
  readonly group: string;
  readonly help: string;
  /** Placeholder in help and commander's flag syntax, e.g. `dir` for `--output-dir <dir>`. */
  readonly valueName?: string;
  /** Value when neither a flag nor the config file sets it; absent means "unset" (or `defaultHelp`). */
  readonly default?: OptionValue;
  /** Help text for a default computed from other options (e.g. `runs/<task>`). */
  readonly defaultHelp?: string;
  readonly choices?: readonly string[];
  readonly check?: NumberCheck;
  readonly required?: boolean;
  /** Canonicalises a string before the choice check (e.g. `SST-2` -> `sst2`). */
  readonly normalize?: (raw: string) => string;
}

export const atLeast = (min: number): NumberCheck => ({ ok: (v) => v >= min, expected: `>= ${min}` });
export const greaterThan = (min: number): NumberCheck => ({ ok: (v) => v > min, expected: `> ${min}` });
export const within = (min: number, max: number): NumberCheck => ({
  ok: (v) => v >= min && v <= max,
  expected: `in [${min}, ${max}]`,
});
export const halfOpen = (min: number, max: number): NumberCheck => ({
  ok: (v) => v >= min && v < max,
  expected: `in [${min}, ${max})`,
});

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
};

/** `dir`, `float`, or a short enum's choices (`no|steps|epoch`). */
export function placeholderOf(spec: OptionSpec): string {
  if (spec.valueName) return spec.valueName;
  const choices = spec.choices?.join('|');
  return choices !== undefined && choices.length <= 16 ? choices : TYPE_PLACEHOLDER[spec.type];
}

/** What a valid value looks like, for error messages: "an integer >= 1", "one of no, steps, epoch". */
export function expectation(spec: OptionSpec): string {
  switch (spec.type) {
    case 'int':
      return `an integer${spec.check ? ` ${spec.check.expected}` : ''}`;
    case 'float':
      return `a number${spec.check ? ` ${spec.check.expected}` : ''}`;
    case 'enum':
      return `one of ${(spec.choices ?? []).join(', ')}`;
    case 'bool':
      return 'true or false';
    case 'path':
      return 'a non-empty path';
    case 'string':
      return 'a non-empty string';
  }
}

/** Thrown by `coerce` with the expectation only; callers prefix where the value came from. */
export class ValueError extends Error {}

const INT_RE = /^[+-]?\d+$/;
// Decimal or scientific notation, as Python's float() reads them (no hex, no Infinity/NaN).
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function describe(raw: unknown): string {
  return typeof raw === 'string' ? `'${raw}'` : JSON.stringify(raw);
}

/**
 * Turns a raw value (a flag's string, or a JSON value from a config file) into a typed, validated
 * value. Numeric strings are accepted in config files too, since `"5e-5"` is a common way to write them.
 */
export function coerce(spec: OptionSpec, raw: unknown): OptionValue {
  const fail = (): never => {
    throw new ValueError(`expected ${expectation(spec)}, got ${describe(raw)}`);
  };
  switch (spec.type) {
    case 'int':
    case 'float': {
      let value: number;
      if (typeof raw === 'number') value = raw;
      else if (typeof raw === 'string' && (spec.type === 'int' ? INT_RE : FLOAT_RE).test(raw.trim()))
        value = Number(raw.trim());
      else return fail();
      if (!Number.isFinite(value) || (spec.type === 'int' && !Number.isInteger(value))) return fail();
      if (spec.check && !spec.check.ok(value)) return fail();
      return value;
    }
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      return fail();
    case 'enum': {
      if (typeof raw !== 'string') return fail();
      const value = spec.normalize ? spec.normalize(raw) : raw;
      if (!(spec.choices ?? []).includes(value)) return fail();
      return value;
    }
    case 'path':
    case 'string':
      if (typeof raw !== 'string' || raw.trim() === '') return fail();
      return raw;
  }
}
