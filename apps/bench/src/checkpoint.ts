import { writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Geometry, MAX_POSITIONS, VOCAB_SIZE } from './geometry.js';

/**
 * Writes a randomly initialized BERT of geometry `g` (transformers' init, by the glue app's embedded-default
 * generator) as a Hugging Face checkpoint folder, config.json + model.safetensors: the input
 * `@ortrain/artifacts` compiles. The app is imported here only, so other benchmarks do not load it.
 */
export async function writeRandomBert(dir: string, g: Geometry, seed = 1): Promise<void> {
  const { generateTinyBert, writeTinyBertSafetensors } = await import('@ortrain/glue');
  const model = generateTinyBert({
    seed,
    vocabSize: VOCAB_SIZE,
    hiddenSize: g.hidden,
    numHiddenLayers: g.layers,
    numAttentionHeads: g.heads,
    intermediateSize: g.intermediate,
    maxPositionEmbeddings: MAX_POSITIONS,
  });
  await mkdir(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(model.config, null, 2)}\n`);
  writeTinyBertSafetensors(join(dir, 'model.safetensors'), model);
}
