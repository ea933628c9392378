import { type ArgumentGroup, renderRefs } from '@ortrain/trainer';
import { flagName, kebab, type OptionSpec, type OptionValue, placeholderOf } from './spec.js';

const WIDTH = 100;
const MAX_FLAG_COLUMN = 38;

/** The sections of `--help`, in order. */
const GROUP_TITLES: Record<ArgumentGroup, string> = {
  input: 'Task, model and data',
  output: 'Output',
  training: 'Training (Hugging Face TrainingArguments)',
  evaluation: 'Evaluation, logging and checkpoints',
  runtime: 'Runtime',
  general: 'General',
};

export function formatDefault(value: OptionValue): string {
  if (typeof value === 'number' && value !== 0 && Math.abs(value) < 1e-3) return value.toExponential();
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The flag column: `--learning-rate <float>`, `--no-shuffle`, `--[no-]greater-is-better`. */
function flagColumn(spec: OptionSpec): string {
  if (spec.type === 'bool') {
    if (spec.default === true) return `--no-${kebab(spec.key)}`;
    if (spec.default === false) return `--${kebab(spec.key)}`;
    // A tri-state boolean (unset by default) has both spellings.
    return `--[no-]${kebab(spec.key)}`;
  }
  return `--${kebab(spec.key)} <${placeholderOf(spec)}>`;
}

function describeOption(spec: OptionSpec): string {
  const listed = spec.choices && !placeholderOf(spec).includes('|');
  const help = renderRefs(spec.help, flagName);
  const which = spec.list ? 'one or more, comma-separated, of' : 'one of';
  let text = listed ? `${help}; ${which}: ${spec.choices!.join(', ')}` : help;
  if (spec.required) text += ' (required)';
  // A boolean flag's default is implied by its spelling (`--no-shuffle`), so only tri-states say it.
  else if (spec.default != null && spec.type !== 'bool') text += ` (default: ${formatDefault(spec.default)})`;
  else if (spec.default == null && spec.defaultHelp) {
    text += ` (default: ${renderRefs(spec.defaultHelp, flagName)})`;
  }
  return text;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export interface HelpInput {
  readonly usage: string;
  readonly summary: string;
  readonly options: readonly OptionSpec[];
  readonly examples: readonly string[];
}

/** `--help` text, generated from the option table so it cannot drift from what the parser accepts. */
export function renderHelp({ usage, summary, options, examples }: HelpInput): string {
  const rows = options.map((spec) => ({
    group: spec.group,
    flag: flagColumn(spec),
    text: describeOption(spec),
  }));
  rows.push({ group: 'general', flag: '-h, --help', text: 'show this help' });
  const column = Math.min(MAX_FLAG_COLUMN, Math.max(...rows.map((r) => r.flag.length)) + 2);
  const groups = (Object.keys(GROUP_TITLES) as ArgumentGroup[]).filter((g) =>
    rows.some((r) => r.group === g),
  );
  const out = [`Usage: ${usage}`, '', ...wrap(summary, WIDTH)];
  for (const group of groups) {
    out.push('', `${GROUP_TITLES[group]}:`);
    for (const row of rows.filter((r) => r.group === group)) {
      const text = wrap(row.text, WIDTH - 2 - column);
      const flag = `  ${row.flag}`;
      // A flag wider than the column gets its description on the next line.
      if (flag.length + 1 > column + 2) out.push(flag, ...text.map((t) => `${' '.repeat(column + 2)}${t}`));
      else out.push(...text.map((t, i) => `${(i === 0 ? flag : '').padEnd(column + 2)}${t}`));
    }
  }
  if (examples.length > 0) out.push('', 'Examples:', ...examples.map((e) => `  ${e}`));
  return `${out.join('\n')}\n`;
}
