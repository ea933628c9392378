import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { AutoTokenizer, env, pipeline } from '@huggingface/transformers';
import { loadModel } from '@ortrain/graph';
import { describe, expect, it } from 'vitest';
import { compileArtifacts } from '../src/compile.js';
import { parseBertConfig } from '../src/config.js';
import { exportInference } from '../src/export/inference.js';
import { maxSequenceLength } from '../src/family/family.js';
import { familyOf } from '../src/family/registry.js';
import { importSource } from '../src/import/source.js';
import { readSafetensors } from '../src/safetensors.js';
import { maxAbsDiff, maxRelDiff, softmax } from './helpers.js';
import { ArtifactRunner, type Batch } from './runner.js';
import { writeByteLevelBpeTokenizer, writeTinyTokenizer, writeUnigramTokenizer } from './tokenizer.js';

/** PyTorch reference of one family (scripts/make_<family>_fixtures.py): dropout 0, same batches as BERT's. */
interface Reference {
  head: Record<string, { shape: number[]; data: number[] }>;
  train_batches: (Batch & { labels: number[] })[];
  eval_batch: Batch;
  logits_before: number[];
  run: {
    learning_rates: number[];
    steps: number;
    weight_decay: number;
    max_grad_norm: number;
    micro_losses: number[];
    grad_norms: number[];
    logits_after: number[];
  };
}

/** Per family: its fixture folders (ONNX exports in transformers.js layout, the HF checkpoint folder) and the
 * batch inputs its graphs take. */
const FAMILIES: Record<
  string,
  {
    sources: string[];
    inputs: string[];
    className: string;
    /** A tiny tokenizer of the family's kind for the pipeline test, a text and the ids it must give. */
    tokenizer: { write: (dir: string) => void; text: string; ids: number[] };
    hiddenSitesPerLayer: number;
    headSites: number;
  }
> = {
  distilbert: {
    sources: ['cls_opset14', 'fe_opset17', 'hf_checkpoint'],
    inputs: ['input_ids', 'attention_mask'],
    className: 'DistilBertForSequenceClassification',
    tokenizer: { write: writeTinyTokenizer, text: 'tok5 tok17 tok99', ids: [2, 5, 17, 99, 3] },
    hiddenSitesPerLayer: 1,
    headSites: 1,
  },
  roberta: {
    sources: ['cls_opset14', 'fe_opset17', 'hf_checkpoint'],
    inputs: ['input_ids', 'attention_mask'],
    className: 'RobertaForSequenceClassification',
    tokenizer: { write: writeByteLevelBpeTokenizer, text: 'hi you', ids: [0, 12, 13, 4, 29, 19, 25, 2] },
    hiddenSitesPerLayer: 2,
    headSites: 2,
  },
  'xlm-roberta': {
    sources: ['cls_opset14', 'fe_opset17', 'hf_checkpoint'],
    inputs: ['input_ids', 'attention_mask'],
    className: 'XLMRobertaForSequenceClassification',
    tokenizer: {
      write: (dir: string) => writeUnigramTokenizer(dir, 'XLMRobertaTokenizer', '<s>', '</s>'),
      text: 'hello good day',
      ids: [2, 4, 6, 7, 3],
    },
    hiddenSitesPerLayer: 2,
    headSites: 2,
  },
  electra: {
    sources: ['cls_opset14', 'fe_opset17', 'hf_checkpoint'],
    inputs: ['input_ids', 'attention_mask', 'token_type_ids'],
    className: 'ElectraForSequenceClassification',
    tokenizer: { write: writeTinyTokenizer, text: 'tok5 tok17 tok99', ids: [2, 5, 17, 99, 3] },
    hiddenSitesPerLayer: 2,
    headSites: 2,
  },
  albert: {
    sources: ['cls_opset14', 'fe_opset17', 'hf_checkpoint'],
    inputs: ['input_ids', 'attention_mask', 'token_type_ids'],
    className: 'AlbertForSequenceClassification',
    tokenizer: {
      write: (dir: string) => writeUnigramTokenizer(dir, 'AlbertTokenizer', '[CLS]', '[SEP]'),
      text: 'hello world',
      ids: [2, 4, 5, 3],
    },
    hiddenSitesPerLayer: 1,
    headSites: 1,
  },
};

const noDropout = { hidden: 0, attention: 0, classifier: 0 };

describe.each(Object.entries(FAMILIES))(
  '%s',
  (family, { sources, inputs, className, tokenizer, hiddenSitesPerLayer, headSites }) => {
    const fixtures = join(import.meta.dirname, 'fixtures', family);
    const ref: Reference = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8'));
    const run = ref.run;
    const compile = (source: string, name = 'parity') => {
      const outDir = mkdtempSync(join(tmpdir(), `ortrain-${family}-`));
      return compileArtifacts(join(fixtures, source), {
        name,
        outDir,
        dropout: noDropout,
        optimizer: { weightDecay: run.weight_decay, maxGradNorm: run.max_grad_norm },
        labelNames: ['negative', 'positive'],
      });
    };
    /** Starts from exactly torch's weights: a head the compiler created is replaced by torch's. */
    const runner = (dir: string, newlyInitialized: string[]) => {
      const r = new ArtifactRunner(dir);
      for (const name of newlyInitialized) r.set(name, ref.head[name]!.data);
      return r;
    };

    it.each(sources)(
      'trains like PyTorch (8 AdamW steps, warmup, clipping, decay) from %s',
      async (source) => {
        const { dir, manifest, report } = compile(source);
        expect(manifest.inputs).toEqual(inputs);
        expect(manifest.model.architecture).toBe(family);
        const r = runner(dir, manifest.newlyInitialized);
        const before = (await r.evaluate(ref.eval_batch, [0, 0, 0, 0, 0])).logits;
        expect(maxAbsDiff(before, ref.logits_before)).toBeLessThan(1e-5);
        const losses: number[] = [];
        const norms: number[] = [];
        for (let step = 0; step < run.steps; step++) {
          const b = ref.train_batches[step]!;
          const [loss, norm] = await r.trainStep(b, b.labels, run.learning_rates[step]!, step + 1);
          losses.push(loss);
          norms.push(norm);
        }
        const after = (await r.evaluate(ref.eval_batch, [0, 0, 0, 0, 0])).logits;
        expect(maxAbsDiff(after, before)).toBeGreaterThan(1e-2); // training moved the logits
        expect(maxAbsDiff(losses, run.micro_losses)).toBeLessThan(1e-5);
        expect(maxRelDiff(norms, run.grad_norms)).toBeLessThan(1e-4);
        expect(maxAbsDiff(after, run.logits_after)).toBeLessThan(2e-5);
        for (const m of report.messages) expect(m).toContain(className);
      },
    );

    it.each(sources)(
      "exports model.safetensors in HF's names and layout, equal to PyTorch's state_dict, from %s",
      async (source) => {
        const { dir, manifest } = compile(source, 'state');
        const r = runner(dir, manifest.newlyInitialized);
        const out = join(dirname(dir), 'exported');
        exportInference(dir, out, { weights: r.params });
        // hf_checkpoint/model.safetensors is the torch model's own state_dict, which the fixture script loads
        // back with load_state_dict(strict=True) and equal logits.
        const torch = readSafetensors(join(fixtures, 'hf_checkpoint', 'model.safetensors'));
        const ours = readSafetensors(join(out, 'model.safetensors'));
        expect([...ours.keys()].sort()).toEqual([...torch.keys()].sort());
        for (const [name, t] of torch) {
          expect(ours.get(name)!.dims, name).toEqual(t.dims);
          expect(maxAbsDiff(ours.get(name)!.data as Float32Array, t.data as Float32Array), name).toBe(0);
        }
        const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
        expect(config.model_type).toBe(family);
        expect(config.architectures).toEqual([className]);
      },
    );

    it.each(sources)("inserts dropout at HF's sites of the family's layers and head, from %s", (source) => {
      const outDir = mkdtempSync(join(tmpdir(), `ortrain-${family}-`));
      const count = (dropout: { hidden: number; attention: number; classifier: number }) =>
        compileArtifacts(join(fixtures, source), { name: 'dropout', outDir, dropout }).report.dropoutNodes;
      const layers = (ref as unknown as { config: Record<string, number> }).config;
      const n = layers['num_hidden_layers'] ?? layers['n_layers']!;
      expect(count({ hidden: 0, attention: 0.1, classifier: 0 })).toBe(n);
      expect(count({ hidden: 0.1, attention: 0, classifier: 0 })).toBe(1 + n * hiddenSitesPerLayer);
      expect(count({ hidden: 0, attention: 0, classifier: 0.1 })).toBe(headSites);
    });

    it('draws the masks of every dropout site from dropout_seed (dropout 0.1)', async () => {
      const outDir = mkdtempSync(join(tmpdir(), `ortrain-${family}-`));
      const rate = 0.1;
      const { dir, manifest, report } = compileArtifacts(join(fixtures, 'hf_checkpoint'), {
        name: 'seeded',
        outDir,
        dropout: { hidden: rate, attention: rate, classifier: rate },
      });
      const layers = (ref as unknown as { config: Record<string, number> }).config;
      const n = layers['num_hidden_layers'] ?? layers['n_layers']!;
      expect(report.dropoutNodes).toBe(n + 1 + n * hiddenSitesPerLayer + headSites);
      for (const kind of ['train', 'gradient'] as const) {
        expect(manifest.graphs[kind].inputs).toContain('dropout_seed');
        const g = loadModel(join(dir, manifest.graphs[kind].file)).graph;
        expect(g.nodes.filter((node) => node.opType === 'Dropout')).toEqual([]);
      }
      const b = ref.train_batches[0]!;
      const lossAt = async (seed: bigint) => {
        const r = new ArtifactRunner(dir);
        r.dropoutSeed = seed;
        return (await r.trainStep(b, b.labels, 0, 1))[0];
      };
      const first = await lossAt(42n << 32n);
      expect(await lossAt(42n << 32n)).toBe(first);
      expect(await lossAt((42n << 32n) + 1n)).not.toBe(first);
      // Eval has no dropout: its loss is the seed-independent one.
      const evalLoss = (await new ArtifactRunner(dir).evaluate(b, b.labels)).loss;
      expect(first).not.toBe(evalLoss);
    });

    it("loads in @huggingface/transformers' text-classification pipeline with ortrain's logits", async () => {
      const { dir, manifest } = compile('hf_checkpoint', 'pipeline');
      const r = runner(dir, manifest.newlyInitialized);
      for (const b of ref.train_batches.slice(0, 3)) await r.trainStep(b, b.labels, 5e-3, 1);
      const tokenizerDir = join(dirname(dir), 'tokenizer');
      tokenizer.write(tokenizerDir);
      const out = join(dirname(dir), 'exported');
      exportInference(dir, out, { weights: r.params, tokenizerDir });
      env.allowRemoteModels = false;
      env.localModelPath = dirname(out);
      const classify = await pipeline('text-classification', basename(out));
      const text = tokenizer.text;
      const result = (await classify(text, { top_k: 2 })) as { label: string; score: number }[];
      const ids = Array.from(
        (await AutoTokenizer.from_pretrained(basename(out)))(text).input_ids.data as BigInt64Array,
        Number,
      );
      expect(ids).toEqual(tokenizer.ids); // the family's special tokens around the text
      const logits = await r.predict({
        shape: [1, ids.length],
        input_ids: ids,
        attention_mask: ids.map(() => 1),
        token_type_ids: ids.map(() => 0),
      });
      const probs = softmax(logits);
      const scores = Object.fromEntries(result.map((x) => [x.label, x.score]));
      expect(Math.abs(scores['negative']! - probs[0]!)).toBeLessThan(1e-5);
      expect(Math.abs(scores['positive']! - probs[1]!)).toBeLessThan(1e-5);
    });
  },
);

describe('bad input', () => {
  const fixtures = join(import.meta.dirname, 'fixtures', 'distilbert');
  const copy = (edit: (config: Record<string, unknown>) => void) => {
    const dir = mkdtempSync(join(tmpdir(), 'ortrain-bad-'));
    const config = JSON.parse(readFileSync(join(fixtures, 'hf_checkpoint', 'config.json'), 'utf8'));
    edit(config);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    copyFileSync(join(fixtures, 'hf_checkpoint', 'model.safetensors'), join(dir, 'model.safetensors'));
    return dir;
  };

  it('an unknown model_type lists the supported ones', () => {
    const dir = copy((c) => {
      c['model_type'] = 'gpt2';
    });
    expect(() => importSource(dir)).toThrow(
      /config\.json: model_type 'gpt2' is not supported \(supported: bert, distilbert/,
    );
  });

  it('DeBERTa is refused with what is missing', () => {
    const dir = copy((c) => {
      c['model_type'] = 'deberta-v2';
    });
    expect(() => importSource(dir)).toThrow(
      /model_type 'deberta-v2' is not supported: DeBERTa's disentangled attention .* \(supported: bert, distilbert, roberta, xlm-roberta, electra, albert\)/,
    );
  });

  it('a config that does not match the weights names the tensor and both shapes', () => {
    const dir = copy((c) => {
      c['hidden_dim'] = 48;
    });
    expect(() => importSource(dir)).toThrow(
      /model\.safetensors: tensor 'distilbert\.transformer\.layer\.0\.ffn\.lin1\.weight' has shape \[64,32\], config\.json implies \[48,32\]/,
    );
  });

  it('an activation it does not compute is named', () => {
    const dir = copy((c) => {
      c['activation'] = 'silu';
    });
    expect(() => importSource(dir)).toThrow(
      /activation 'silu' is not supported \(expected 'gelu', 'gelu_new'/,
    );
  });
});

describe('maxSequenceLength', () => {
  const longest = (raw: Record<string, unknown>) => {
    const config = parseBertConfig(raw, 'config.json');
    return maxSequenceLength(config, familyOf(config.modelType));
  };
  it("is max_position_embeddings less the position ids a family skips (RoBERTa's padding_idx + 1)", () => {
    expect(longest({ model_type: 'roberta' })).toBe(512); // roberta-base: 514 positions, padding_idx 1
    expect(longest({ model_type: 'xlm-roberta', max_position_embeddings: 66, pad_token_id: 1 })).toBe(64);
    expect(longest({ model_type: 'bert' })).toBe(512);
    expect(longest({ model_type: 'distilbert' })).toBe(512);
    expect(longest({ model_type: 'albert', max_position_embeddings: 64 })).toBe(64);
  });
});
