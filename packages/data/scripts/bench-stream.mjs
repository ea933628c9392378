// Streaming benchmark (not a test): a 1,000,000-row CSV (SST-2 train sentences repeated, string labels)
// streamed through `map(tokenizeBatch)` into the trainer's packed TokenizedDataset, in this fresh process so
// its peak RSS is the pipeline's. ORTRAIN_BENCH_WHOLE=1 loads the file whole (loadDatasetFile + map) instead,
// for comparison. ORTRAIN_BENCH_TRAIN=1 streams it as training reads a stream: map(tokenizeBatch), HF's
// buffer shuffle (1000 rows), padded batches of 32, nothing kept. Run `pnpm --filter @ortrain/data bench`.

import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  asTokenized,
  DataCollatorWithPadding,
  IterableDataset,
  loadDatasetFile,
  loadGlueFromDir,
  TextTokenizer,
  tokenizeBatch,
} from '../dist/index.js';

const ROWS = Number(process.env.ORTRAIN_BENCH_ROWS ?? 1_000_000);
const WHOLE = process.env.ORTRAIN_BENCH_WHOLE === '1';
const TRAIN = process.env.ORTRAIN_BENCH_TRAIN === '1';
const shared = process.env.ORTRAIN_SHARED ?? join(import.meta.dirname, '../../../../shared');
const tokDir = join(shared, 'tokenizers/bert-base-uncased');
if (!existsSync(tokDir) || !existsSync(join(shared, 'glue'))) {
  console.error(`bench needs ${tokDir} and ${join(shared, 'glue')} (set ORTRAIN_SHARED)`);
  process.exit(1);
}
const mib = (b) => (b / 2 ** 20).toFixed(0);

const dir = join(tmpdir(), 'ortrain-bench');
mkdirSync(dir, { recursive: true });
const file = join(dir, `stream-${ROWS}.csv`);
if (!existsSync(file)) {
  const sst2 = await loadGlueFromDir(join(shared, 'glue'), 'sst2', 'train');
  const out = createWriteStream(file);
  out.write('text,label\n');
  for (let i = 0; i < ROWS; i++) {
    const r = i % sst2.numRows;
    const text = sst2.texts[0][r].replaceAll('"', '""');
    if (!out.write(`"${text}",${sst2.labels[r] === 1 ? 'positive' : 'negative'}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}
const baseline = process.resourceUsage().maxRSS * 1024;
const tokenizer = await TextTokenizer.fromPretrained(tokDir);
const start = performance.now();
const tokenize = tokenizeBatch(tokenizer, { textColumns: ['text'], maxSeqLength: 128 });
if (TRAIN) {
  const stream = IterableDataset.fromFile(file, { batchSize: 1000 })
    .map(tokenize, { removeColumns: ['text'] })
    .shuffle({ seed: 42, bufferSize: 1000 });
  const labels = { kind: 'classes', names: ['negative', 'positive'] };
  const collator = new DataCollatorWithPadding(tokenizer);
  let rows = 0;
  let batches = 0;
  const options = { batchSize: 32, maxLength: 128, padTokenId: tokenizer.padTokenId, labels };
  for await (const batch of stream.collated(collator, options)) {
    rows += batch.dims[0];
    batches++;
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `stream into training ${rows} rows (${mib(statSync(file).size)} MiB CSV): ${(rows / seconds).toFixed(0)} rows/s ` +
      `(${seconds.toFixed(1)} s), ${batches} shuffled padded batches of 32; peak RSS ` +
      `${mib(process.resourceUsage().maxRSS * 1024)} MiB (${mib(baseline)} MiB before the pipeline)`,
  );
  process.exit(0);
}
const mapped = WHOLE
  ? (await loadDatasetFile(file)).map(tokenize, { batched: true, removeColumns: ['text'] })
  : await IterableDataset.fromFile(file, { batchSize: 1000 })
      .map(tokenize, { removeColumns: ['text'] })
      .collect();
const ds = mapped.classEncodeColumn('label');
const tokenized = asTokenized(ds, { maxLength: 128, padTokenId: tokenizer.padTokenId });
const seconds = (performance.now() - start) / 1000;
const packed =
  tokenized.inputIds.byteLength + tokenized.tokenTypeIds.byteLength + tokenized.offsets.byteLength;
console.log(
  `${WHOLE ? 'whole-file' : 'stream'} ${ROWS} rows (${mib(statSync(file).size)} MiB CSV): ${(ROWS / seconds).toFixed(0)} rows/s ` +
    `(${seconds.toFixed(1)} s), ${tokenized.inputIds.length} tokens, ${mib(packed)} MiB packed, ` +
    `labels [${ds.features.label.names}]; peak RSS ${mib(process.resourceUsage().maxRSS * 1024)} MiB ` +
    `(${mib(baseline)} MiB before the pipeline)`,
);
