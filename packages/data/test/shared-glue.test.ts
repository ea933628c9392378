import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Dataset, loadDataset, loadGlueFromDir } from '../src/index.js';

const SHARED_GLUE = join(import.meta.dirname, '../../../../shared/glue');
const sizes: [string, Record<string, number>][] = [
  ['mrpc', { train: 3668, validation: 408, test: 1725 }],
  ['sst2', { train: 67349, validation: 872, test: 1821 }],
  ['stsb', { train: 5749, validation: 1500, test: 1379 }],
  ['rte', { train: 2490, validation: 277, test: 3000 }],
];

describe.skipIf(!existsSync(SHARED_GLUE))('real GLUE copies in ../shared/glue', () => {
  for (const [task, splits] of sizes) {
    for (const [split, n] of Object.entries(splits)) {
      it(`${task} ${split} has ${n} rows`, async () => {
        const ds = await loadGlueFromDir(SHARED_GLUE, task, split);
        expect(ds.numRows).toBe(n);
        expect(ds.skipped).toBe(0);
        for (const col of ds.texts) expect(col).toHaveLength(n);
        if (split === 'test') expect(ds.labels).toBeNull();
        else expect(ds.labels).toHaveLength(n);
      });
    }
  }

  it('keeps class balance and first rows as in SOURCES.md / HF glue', async () => {
    const mrpc = await loadGlueFromDir(SHARED_GLUE, 'mrpc', 'train');
    const pos = (mrpc.labels as Int32Array).reduce((a, b) => a + b, 0);
    expect([pos, mrpc.numRows - pos]).toEqual([2474, 1194]);
    // HF glue/mrpc train row 0.
    expect(mrpc.texts[0]![0]).toBe(
      'Amrozi accused his brother, whom he called "the witness", of deliberately distorting his evidence.',
    );
    expect(mrpc.idx.subarray(0, 3)).toEqual(Int32Array.of(0, 1, 2));
    const sst = await loadGlueFromDir(SHARED_GLUE, 'sst2', 'train');
    const sstPos = (sst.labels as Int32Array).reduce((a, b) => a + b, 0);
    expect([sstPos, sst.numRows - sstPos]).toEqual([37569, 29780]);
    expect(sst.texts[0]![0]).toBe('hide new secretions from the parental units ');
    const rte = await loadGlueFromDir(SHARED_GLUE, 'rte', 'validation');
    const notEnt = (rte.labels as Int32Array).reduce((a, b) => a + b, 0);
    expect([rte.numRows - notEnt, notEnt]).toEqual([146, 131]);
    const stsb = await loadGlueFromDir(SHARED_GLUE, 'stsb', 'validation');
    expect(stsb.labels).toBeInstanceOf(Float32Array);
    expect(stsb.labels![0]).toBe(5);
    expect(stsb.labels![1]).toBe(4.75);
  });

  it('SST-2 and RTE as user TSV files through loadDataset equal the GLUE loader, labels included', async () => {
    for (const [task, dir, names] of [
      ['sst2', 'SST-2', ['0', '1']],
      ['rte', 'RTE', ['0', '1']],
    ] as const) {
      const dict = await loadDataset('tsv', {
        dataFiles: {
          train: join(SHARED_GLUE, dir, 'train.tsv'),
          validation: join(SHARED_GLUE, dir, 'dev.tsv'),
        },
      });
      const train = dict.get('train').classEncodeColumn('label');
      for (const split of ['train', 'validation']) {
        const glue = Dataset.fromTextDataset(await loadGlueFromDir(SHARED_GLUE, task, split));
        const user = split === 'train' ? train : dict.get(split).castColumn('label', train.features.label!);
        expect(user.numRows).toBe(glue.numRows);
        for (const c of glue.columnNames.filter((n) => n !== 'label' && n !== 'idx')) {
          // GLUE files are not CSV-quoted: a field that starts with a quote is literal there, quoted here.
          const literal = glue.column(c) as string[];
          const kept = literal.map((t, i) => (t.startsWith('"') ? -1 : i)).filter((i) => i >= 0);
          expect(kept.length).toBeGreaterThan(literal.length * 0.8);
          expect(user.select(kept).column(c)).toEqual(kept.map((i) => literal[i]));
        }
        // These copies hold the label ids themselves; sorted, they are GLUE's ids.
        expect(train.features.label!.names).toEqual(names);
        expect(user.column('label')).toEqual(glue.column('label'));
      }
    }
  });
});
