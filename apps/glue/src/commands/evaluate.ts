/** `pnpm evaluate`: the metrics of a model trained by `pnpm train` on a labelled split. */
import { createReporter, formatMetrics, parseEvaluateArgs, writeJsonAtomic } from '@ortrain/cli';
import { TextTokenizer, tokenizeDataset } from '@ortrain/data';
import { checkOutputLocation } from '../output-dir.js';
import { modelMetrics } from '../reporting.js';
import { InputError } from '../resolve.js';
import { openTrainedSplit, trainerFor, withRunBatchSize } from '../trained.js';

export async function evaluate(argv: readonly string[]): Promise<number> {
  const parsed = parseEvaluateArgs(argv);
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return 0;
  }
  const o = parsed.options;
  if (o.output !== undefined) checkOutputLocation('--output', o.output, { file: 'eval_results.json' });
  const { model, task, raw, split } = await openTrainedSplit(o, true);
  const tokenizer = await TextTokenizer.fromPretrained(model.tokenizerDir);
  const ds = tokenizeDataset(raw, tokenizer, {
    maxSeqLength: o.max_seq_length ?? model.maxSeqLength ?? tokenizer.modelMaxLength,
    textColumns: task.textColumns,
  });
  if (ds.labels === null) {
    const source = 'source' in raw ? raw.source : o.data;
    throw new InputError(
      `--split ${o.split}: ${source} has no labels to evaluate against (use pnpm predict)`,
    );
  }
  const reporter = createReporter();
  const settings = withRunBatchSize(o, model, parsed.sources);
  const trainer = await trainerFor(model, task, settings, reporter, () => split);
  try {
    const metrics = await trainer.evaluate(ds);
    reporter.close();
    if (o.output !== undefined) writeJsonAtomic(o.output, metrics);
    const shown = modelMetrics(metrics, 'eval');
    const lines = [`${task.name} ${split} (${raw.numRows} examples): ${formatMetrics(shown)}`];
    if (o.output !== undefined) lines.push(`Metrics written to ${o.output}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    reporter.close();
    await trainer.close();
  }
}
