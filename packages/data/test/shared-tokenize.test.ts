import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadGlueFromDir, TextTokenizer, type TokenizedDataset, tokenizeDataset } from '../src/index.js';

const SHARED = join(import.meta.dirname, '../../../../shared');
const BERT = join(SHARED, 'tokenizers/bert-base-uncased');

/** sha256 over each row's input_ids then token_type_ids as int32 LE: what the Python reference prints. */
function digest(ds: TokenizedDataset): string {
  const h = createHash('sha256');
  for (let i = 0; i < ds.numRows; i++) {
    const s = ds.offsets[i]!;
    const e = ds.offsets[i + 1]!;
    h.update(new Uint8Array(Int32Array.from(ds.inputIds.subarray(s, e)).buffer));
    h.update(new Uint8Array(Int32Array.from(ds.tokenTypeIds.subarray(s, e)).buffer));
  }
  return h.digest('hex');
}

// Digests from `/usr/bin/python3 scripts/reference_bert_tokenize.py digest <vocab.txt> <tsv> <cols> <max>`,
// an independent re-implementation of BertTokenizerFast(a, b, truncation=True, max_length=max).
const cases = [
  ['mrpc', 'train', 512, 3668, '9021ef21a5d707cd7aad155060dc2a1a06696ec829517afd3b95d7282e9d09b3'],
  ['rte', 'train', 128, 2490, '5a6ff8ba3c4e0f9b21e9075eeefaa9ffb3c4aa96a98a4c7ac1137d849aacebef'],
  ['sst2', 'validation', 32, 872, 'f5f5b6c77e198939a99ee5555c8eaf7ccf173738a2dbc42e51bb8dac9223d6ea'],
] as const;

describe.skipIf(!existsSync(BERT) || !existsSync(join(SHARED, 'glue')))(
  'whole real splits vs the Python reference',
  () => {
    for (const [task, split, maxSeqLength, rows, sha] of cases) {
      it(`${task} ${split} (maxSeqLength ${maxSeqLength}) tokenizes to the reference ids`, async () => {
        const tok = await TextTokenizer.fromPretrained(BERT);
        const ds = tokenizeDataset(await loadGlueFromDir(join(SHARED, 'glue'), task, split), tok, {
          maxSeqLength,
        });
        expect(ds.numRows).toBe(rows);
        expect(ds.inputIds).toBeInstanceOf(Uint16Array);
        let longest = 0;
        for (let i = 0; i < ds.numRows; i++) longest = Math.max(longest, ds.length(i));
        expect(longest).toBeLessThanOrEqual(maxSeqLength);
        expect(digest(ds)).toBe(sha);
      });
    }
  },
);
