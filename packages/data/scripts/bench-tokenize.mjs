// Tokenization benchmark (not a test): MRPC train and SST-2 train with the real bert-base-uncased
// tokenizer from ../shared. Targets: MRPC < 0.5 s, SST-2 < 5 s. Run `pnpm --filter @ortrain/data bench`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  DataCollatorWithPadding,
  loadGlueFromDir,
  SequentialSampler,
  TextTokenizer,
  tokenizeDataset,
} from '../dist/index.js';

const shared = process.env.ORTRAIN_SHARED ?? join(import.meta.dirname, '../../../../shared');
const tokDir = join(shared, 'tokenizers/bert-base-uncased');
if (!existsSync(tokDir) || !existsSync(join(shared, 'glue'))) {
  console.error(`bench needs ${tokDir} and ${join(shared, 'glue')} (set ORTRAIN_SHARED)`);
  process.exit(1);
}

const t0 = performance.now();
const tokenizer = await TextTokenizer.fromPretrained(tokDir);
console.log(`load tokenizer: ${(performance.now() - t0).toFixed(0)} ms`);

for (const [task, target] of [
  ['mrpc', 500],
  ['sst2', 5000],
]) {
  const ds = await loadGlueFromDir(join(shared, 'glue'), task, 'train');
  const times = [];
  let tokenized;
  for (let run = 0; run < 3; run++) {
    const start = performance.now();
    tokenized = tokenizeDataset(ds, tokenizer);
    times.push(performance.now() - start);
  }
  const bytes =
    tokenized.inputIds.byteLength + tokenized.tokenTypeIds.byteLength + tokenized.offsets.byteLength;
  console.log(
    `${task} train: ${ds.numRows} rows, ${tokenized.inputIds.length} tokens, ${(bytes / 2 ** 20).toFixed(1)} MiB packed; ` +
      `tokenize first ${times[0].toFixed(0)} ms, best ${Math.min(...times).toFixed(0)} ms (target < ${target} ms)`,
  );
  const collator = new DataCollatorWithPadding();
  const start = performance.now();
  let batches = 0;
  for (const rows of new SequentialSampler(ds.numRows, { batchSize: 32 }).batches(0)) {
    collator.collate(tokenized, rows);
    batches++;
  }
  console.log(
    `${task} train: collate ${batches} batches of 32 in ${(performance.now() - start).toFixed(0)} ms`,
  );
}
