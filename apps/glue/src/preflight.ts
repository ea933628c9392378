/**
 * `pnpm train`'s inputs checked against each other before anything is compiled or written: the tokenizer
 * against the model's embedding tables (an id past them reaches ONNX Runtime as a bare Gather error mid-step),
 * and each split against what the run does with it (an empty or unlabelled one would fail only after the
 * training banner, without naming its file).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type ArtifactManifest, familyOf, readBertConfig } from '@ortrain/artifacts';
import type { Dataset, TextDataset, TextTokenizer } from '@ortrain/data';
import { InputError, type ResolvedModel } from './resolve.js';

/** The embedding tables a tokenizer's ids index, and the file that says their sizes. */
interface ModelVocabulary {
  vocabSize: number;
  /** Rows of the token type embeddings; absent when the model takes no token_type_ids (or nobody says). */
  typeVocabSize?: number;
  source: string;
}

function vocabularyOf(model: ResolvedModel, compiled?: ArtifactManifest): ModelVocabulary | undefined {
  if (model.configFile) {
    // With config.json the check comes before compiling; the compiler then holds the weights to it.
    if (compiled) return undefined;
    const config = readBertConfig(model.configFile);
    const takesTypes = familyOf(config.modelType).inputs.includes('token_type_ids');
    return {
      vocabSize: config.vocabSize,
      ...(takesTypes && { typeVocabSize: config.typeVocabSize }),
      source: `vocab_size in ${model.configFile}`,
    };
  }
  // An ONNX file alone: its geometry is known once compiled.
  return (
    compiled && { vocabSize: compiled.model.vocabSize, source: `the word embeddings of ${model.source}` }
  );
}

const tokenizerFile = (dir: string) =>
  existsSync(join(dir, 'tokenizer.json')) ? join(dir, 'tokenizer.json') : join(dir, 'vocab.txt');

/**
 * Every id the tokenizer can emit (its vocabulary, added and special tokens) and every token type its template
 * gives must have a row in the model's embeddings. Checked from config.json before compiling; a model without
 * one is checked on its `compiled` manifest (call again once compiled).
 */
export function checkTokenizerFits(
  tokenizer: TextTokenizer,
  model: ResolvedModel,
  compiled?: ArtifactManifest,
): void {
  const vocab = vocabularyOf(model, compiled);
  if (!vocab) return;
  const file = tokenizerFile(model.tokenizerDir);
  if (tokenizer.vocabSize > vocab.vocabSize) {
    throw new InputError(
      `${file}: the tokenizer emits ids up to ${tokenizer.vocabSize - 1} (${tokenizer.vocabSize} tokens, special ` +
        `tokens included) but the model's embeddings hold ${vocab.vocabSize} (${vocab.source}); ` +
        "use the model's own tokenizer",
    );
  }
  if (vocab.typeVocabSize !== undefined && tokenizer.typeVocabSize > vocab.typeVocabSize) {
    throw new InputError(
      `${file}: the tokenizer gives token type ids up to ${tokenizer.typeVocabSize - 1} but the model has ` +
        `${vocab.typeVocabSize} token types (type_vocab_size in ${model.configFile}); use the model's own tokenizer`,
    );
  }
}

/** What a run does with a split: training and evaluation need rows with labels. */
export type SplitUse = 'training' | 'evaluation';

/** A split's rows and labels, checked before it is tokenized, naming its file. */
export function checkSplitFor(use: SplitUse, ds: TextDataset | Dataset, split: string): void {
  const file = ('source' in ds ? ds.source : ds.sourceFile) ?? `the ${split} split`;
  if (ds.numRows === 0) {
    throw new InputError(`${file}: no rows in the ${split} split; ${use} needs at least one`);
  }
  const labelled = 'labels' in ds ? ds.labels !== null : ds.columnNames.includes('label');
  if (!labelled) {
    throw new InputError(`${file}: the ${split} split has no labels (no label column); ${use} needs them`);
  }
}
