import type { TrainingArguments } from '../trainer/arguments.js';
import type { LogEntry, TrainerStateJSON } from '../trainer/state.js';

export interface ModelCardInfo {
  /** The repository's model name (the title). */
  modelName: string;
  /** What was fine-tuned (a hub id links to it). */
  baseModel?: string;
  /** The training data's name, e.g. `glue`. */
  dataset?: string;
}

/** Speed and bookkeeping keys that HF's parse_log_history leaves out of the results. */
const NOT_METRICS = /(^|_)(runtime|samples_per_second|steps_per_second)$|^epoch$|^step$/;

/** HF's parse_log_history: one row per evaluation with the training loss last logged before it. */
export function resultsTable(history: readonly LogEntry[]): Record<string, string | number>[] {
  const rows: Record<string, string | number>[] = [];
  let trainingLoss: number | undefined;
  for (const entry of history) {
    if (entry['loss'] !== undefined) trainingLoss = entry['loss'];
    if (entry['eval_loss'] === undefined) continue;
    const row: Record<string, string | number> = {
      'Training Loss': trainingLoss ?? 'No log',
      Epoch: entry['epoch'] ?? 0,
      Step: entry['step'] ?? 0,
      'Validation Loss': entry['eval_loss'],
    };
    for (const [key, value] of Object.entries(entry)) {
      if (key === 'eval_loss' || !key.startsWith('eval_') || NOT_METRICS.test(key) || value === undefined)
        continue;
      row[title(key.slice(5))] = value;
    }
    rows.push(row);
  }
  return rows;
}

/** HF's metric names in cards: `f1` → `F1`, `matthews_correlation` → `Matthews Correlation`. */
function title(key: string): string {
  return key
    .split('_')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join(' ');
}

const cell = (v: string | number) =>
  typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : String(v);

/**
 * The README.md that HF's Trainer.create_model_card writes: YAML metadata, the last evaluation's metrics, the
 * hyperparameters and the table of evaluations.
 */
export function modelCard(args: TrainingArguments, state: TrainerStateJSON, info: ModelCardInfo): string {
  const rows = resultsTable(state.log_history);
  const last = rows.at(-1);
  const metrics = last
    ? Object.keys(last).filter((k) => !['Training Loss', 'Epoch', 'Step'].includes(k))
    : [];
  const base = info.baseModel;
  const yaml = [
    '---',
    'library_name: transformers.js',
    ...(base ? [`base_model: ${base}`] : []),
    'tags:',
    '- generated_from_trainer',
    '- ortrain',
    ...(info.dataset ? ['datasets:', `- ${info.dataset}`] : []),
    'model-index:',
    `- name: ${info.modelName}`,
    '  results: []',
    '---',
  ];
  const link =
    base && /^[\w.-]+(\/[\w.-]+)?$/.test(base) ? `[${base}](https://huggingface.co/${base})` : base;
  const lines = [
    ...yaml,
    '',
    '<!-- This model card has been generated automatically according to the information the Trainer had access to. You',
    'should probably proofread and complete it, then remove this comment. -->',
    '',
    `# ${info.modelName}`,
    '',
    `This model is a fine-tuned version of ${link ?? 'a BERT model'} on ${info.dataset ? `the ${info.dataset} dataset` : 'an unknown dataset'}.`,
  ];
  if (last) {
    lines.push('It achieves the following results on the evaluation set:');
    for (const k of metrics) lines.push(`- ${k === 'Validation Loss' ? 'Loss' : k}: ${cell(last[k]!)}`);
  }
  lines.push(
    '',
    '## Training procedure',
    '',
    '### Training hyperparameters',
    '',
    'The following hyperparameters were used during training:',
    `- learning_rate: ${args.learning_rate}`,
    `- train_batch_size: ${args.per_device_train_batch_size}`,
    `- eval_batch_size: ${args.per_device_eval_batch_size}`,
    `- seed: ${args.seed}`,
    ...(args.gradient_accumulation_steps > 1
      ? [`- gradient_accumulation_steps: ${args.gradient_accumulation_steps}`]
      : []),
    `- optimizer: AdamW with betas=(${args.adam_beta1},${args.adam_beta2}) and epsilon=${args.adam_epsilon}`,
    `- lr_scheduler_type: ${args.lr_scheduler_type}`,
    ...(args.label_smoothing_factor > 0 ? [`- label_smoothing_factor: ${args.label_smoothing_factor}`] : []),
    args.max_steps > 0 ? `- training_steps: ${args.max_steps}` : `- num_epochs: ${args.num_train_epochs}`,
  );
  if (rows.length > 0) {
    const header = Object.keys(rows[0]!);
    lines.push('', '### Training results', '', `| ${header.join(' | ')} |`);
    lines.push(`|${header.map((h) => `:${'-'.repeat(Math.max(1, h.length))}:`).join('|')}|`);
    for (const r of rows) lines.push(`| ${header.map((h) => cell(r[h] ?? '')).join(' | ')} |`);
  }
  lines.push(
    '',
    '### Framework versions',
    '',
    '- ortrain (ONNX Runtime training graphs, exported for transformers.js)',
    '',
  );
  return lines.join('\n');
}
