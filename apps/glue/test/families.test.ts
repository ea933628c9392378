/**
 * End-to-end per model family: `train --model <folder>` as a process on the real MRPC in ../shared, from each
 * family's HF checkpoint fixture and its ONNX export (@ortrain/artifacts' test fixtures, with a tokenizer of
 * the family's kind beside them), then `predict` on the exported model; and the refusals that must leave
 * output_dir untouched. Skipped when ../shared is absent.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  writeByteLevelBpeTokenizer,
  writeTinyTokenizer,
  writeUnigramTokenizer,
} from '../../../packages/artifacts/test/tokenizer.js';

const MAIN = join(import.meta.dirname, '..', 'dist', 'main.js');
const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'packages', 'artifacts', 'test', 'fixtures');
const MRPC = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'glue', 'MRPC');
const root = mkdtempSync(join(tmpdir(), 'ortrain-glue-families-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Per family: HF's class name and the tokenizer of its kind (the tokenizers its pretrained models ship). */
const FAMILIES: Record<string, { className: string; writeTokenizer: (dir: string) => void }> = {
  distilbert: { className: 'DistilBertForSequenceClassification', writeTokenizer: writeTinyTokenizer },
  roberta: { className: 'RobertaForSequenceClassification', writeTokenizer: writeByteLevelBpeTokenizer },
  'xlm-roberta': {
    className: 'XLMRobertaForSequenceClassification',
    writeTokenizer: (dir) => writeUnigramTokenizer(dir, 'XLMRobertaTokenizer', '<s>', '</s>'),
  },
  electra: { className: 'ElectraForSequenceClassification', writeTokenizer: writeTinyTokenizer },
  albert: {
    className: 'AlbertForSequenceClassification',
    writeTokenizer: (dir) => writeUnigramTokenizer(dir, 'AlbertTokenizer', '[CLS]', '[SEP]'),
  },
};

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, HF_HUB_OFFLINE: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of a family's fixture folder with its tokenizer beside the model. */
function modelFolder(family: string, source: string): string {
  const dir = join(root, `${family}-${source}`);
  if (existsSync(dir)) return dir;
  cpSync(join(FIXTURES, family, source), dir, { recursive: true });
  FAMILIES[family]!.writeTokenizer(dir);
  return dir;
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const QUICK = ['--task', 'mrpc', '--data', MRPC, '--max-seq-length', '32', '--device', 'cpu'];
const TRAIN = [...QUICK, '--max-steps', '3', '--per-device-train-batch-size', '4', '--eval-strategy', 'no'];

describe.skipIf(!existsSync(MRPC))('pnpm train --model <family folder> on the real MRPC', () => {
  // Evaluation is left to predict, and the ONNX path (family-independent in the app: onnx/model.onnx with
  // config.json and the tokenizer one level up) runs for one family of each input set, to keep this short.
  describe.each(Object.entries(FAMILIES))('%s', (family, { className }) => {
    it('from the HF checkpoint: trains, exports a model HF and predict can load', () => {
      const out = join(root, `run-${family}`);
      const r = cli([
        'train',
        '--model',
        modelFolder(family, 'hf_checkpoint'),
        '--output-dir',
        out,
        ...TRAIN,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`: ${className}, `);
      const config = json(join(out, 'config.json'));
      expect(config.model_type).toBe(family);
      expect(config.architectures).toEqual([className]);
      for (const f of ['onnx/model.onnx', 'model.safetensors', 'tokenizer.json'])
        expect(existsSync(join(out, f)), f).toBe(true);

      const p = cli(['predict', '--model', out, '--data', MRPC, '--split', 'validation', '--device', 'cpu']);
      expect(p.code, p.stderr).toBe(0);
      const rows = readFileSync(join(out, 'predictions_validation.tsv'), 'utf8').trim().split('\n');
      expect(rows.length).toBe(1 + 408); // header + MRPC's validation pairs
    });
  });

  describe.each(['roberta', 'albert'])('%s', (family) => {
    it('from the ONNX export (onnx/model.onnx with config.json and the tokenizer beside onnx/)', () => {
      const out = join(root, `run-${family}-onnx`);
      const r = cli(['train', '--model', modelFolder(family, 'cls_opset14'), '--output-dir', out, ...TRAIN]);
      expect(r.code, r.stderr).toBe(0);
      expect(json(join(out, 'config.json')).architectures).toEqual([FAMILIES[family]!.className]);
      for (const f of ['onnx/model.onnx', 'model.safetensors'])
        expect(existsSync(join(out, f)), f).toBe(true);
    });
  });

  it("RoBERTa's sequences stop at max_position_embeddings - padding_idx - 1 (64 of its 66), before writing", () => {
    const out = join(root, 'run-roberta-long');
    const model = modelFolder('roberta', 'hf_checkpoint');
    const r = cli(['train', '--model', model, '--output-dir', out, ...TRAIN, '--max-seq-length', '65']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--max-seq-length 65: the model's position embeddings hold 64 tokens");
    expect(existsSync(out)).toBe(false);
  });

  /** A RoBERTa folder whose config.json is edited; the run must fail before output_dir is written. */
  function refused(name: string, edit: (config: Record<string, unknown>) => void, existing: boolean) {
    const model = join(root, `bad-${name}`);
    cpSync(modelFolder('roberta', 'hf_checkpoint'), model, { recursive: true });
    const config = json(join(model, 'config.json'));
    edit(config);
    writeFileSync(join(model, 'config.json'), JSON.stringify(config));
    const out = join(root, `out-${name}`);
    if (existing) {
      mkdirSync(out);
      writeFileSync(join(out, 'notes.txt'), 'mine');
    }
    const r = cli(['train', '--model', model, '--output-dir', out, ...TRAIN]);
    expect(r.code).toBe(1);
    if (existing) expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    const left = existing ? ['notes.txt'] : [];
    expect(existsSync(out) ? readdirSync(out) : []).toEqual(left);
    return r.stderr;
  }

  it('refuses an unknown model_type, listing the supported ones, and writes nothing', () => {
    const stderr = refused('funnel', (c) => Object.assign(c, { model_type: 'funnel' }), false);
    expect(stderr).toContain(
      "model_type 'funnel' is not supported (supported: bert, distilbert, roberta, xlm-roberta, electra, albert)",
    );
  });

  it('refuses DeBERTa with what is missing', () => {
    const stderr = refused('deberta', (c) => Object.assign(c, { model_type: 'deberta-v2' }), false);
    expect(stderr).toContain("model_type 'deberta-v2' is not supported: DeBERTa's disentangled attention");
  });

  it('refuses a config/weights mismatch, naming the tensor and both shapes, leaving output_dir as it was', () => {
    const stderr = refused('shape', (c) => Object.assign(c, { intermediate_size: 48 }), true);
    expect(stderr).toContain(
      "model.safetensors: tensor 'roberta.encoder.layer.0.intermediate.dense.weight' has shape [64,32], config.json implies [48,32]",
    );
  });
});
