import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '@ortrain/artifacts';
import { mulberry32 } from '@ortrain/data';
import type { Tensor } from '@ortrain/graph';
import { type Geometry, MAX_POSITIONS, VOCAB_SIZE } from './geometry.js';

/**
 * Writes a randomly initialized BERT of geometry `g` as a Hugging Face checkpoint folder (config.json +
 * model.safetensors), the input `@ortrain/artifacts` compiles. Timing does not depend on the values, but
 * they follow BERT's init scale (N(0, 0.02) weights, zero biases, unit LayerNorm) so losses stay sane.
 */
export function writeRandomBert(dir: string, g: Geometry, seed = 1): void {
  if (g.hidden % g.heads !== 0)
    throw new Error(`${g.name}: hidden ${g.hidden} is not a multiple of heads ${g.heads}`);
  const normal = gaussian(seed);
  const tensors: Tensor[] = [];
  const add = (name: string, dims: number[], fill: number | null) => {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    if (fill === null) for (let i = 0; i < data.length; i++) data[i] = 0.02 * normal();
    else data.fill(fill);
    tensors.push({ name, dataType: 'float32', dims, data });
  };
  const linear = (prefix: string, inF: number, outF: number) => {
    add(`${prefix}.weight`, [outF, inF], null);
    add(`${prefix}.bias`, [outF], 0);
  };
  const layerNorm = (prefix: string) => {
    add(`${prefix}.weight`, [g.hidden], 1);
    add(`${prefix}.bias`, [g.hidden], 0);
  };
  add('bert.embeddings.word_embeddings.weight', [VOCAB_SIZE, g.hidden], null);
  add('bert.embeddings.position_embeddings.weight', [MAX_POSITIONS, g.hidden], null);
  add('bert.embeddings.token_type_embeddings.weight', [2, g.hidden], null);
  layerNorm('bert.embeddings.LayerNorm');
  for (let l = 0; l < g.layers; l++) {
    const p = `bert.encoder.layer.${l}`;
    for (const m of ['query', 'key', 'value']) linear(`${p}.attention.self.${m}`, g.hidden, g.hidden);
    linear(`${p}.attention.output.dense`, g.hidden, g.hidden);
    layerNorm(`${p}.attention.output.LayerNorm`);
    linear(`${p}.intermediate.dense`, g.hidden, g.intermediate);
    linear(`${p}.output.dense`, g.intermediate, g.hidden);
    layerNorm(`${p}.output.LayerNorm`);
  }
  linear('bert.pooler.dense', g.hidden, g.hidden);

  mkdirSync(dir, { recursive: true });
  const config = {
    architectures: ['BertModel'],
    model_type: 'bert',
    vocab_size: VOCAB_SIZE,
    hidden_size: g.hidden,
    num_hidden_layers: g.layers,
    num_attention_heads: g.heads,
    intermediate_size: g.intermediate,
    max_position_embeddings: MAX_POSITIONS,
    type_vocab_size: 2,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    layer_norm_eps: 1e-12,
    initializer_range: 0.02,
    pad_token_id: 0,
  };
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
}

/** Seeded standard normals: mulberry32 uniforms through Box-Muller. */
function gaussian(seed: number): () => number {
  const next = mulberry32(seed);
  const uniform = () => (next() + 1) / 4294967297; // (0, 1): keeps the log finite
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}
