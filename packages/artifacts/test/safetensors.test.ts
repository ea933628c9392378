import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../src/safetensors.js';

const fixtures = join(import.meta.dirname, 'fixtures');

describe('safetensors', () => {
  it('reads the checkpoint written by the Python fixture script', () => {
    const t = readSafetensors(join(fixtures, 'hf_checkpoint', 'model.safetensors'));
    const words = t.get('bert.embeddings.word_embeddings.weight')!;
    expect(words.dims).toEqual([128, 32]);
    expect(words.dataType).toBe('float32');
    // HF init zeroes the padding row (pad_token_id 0) of the word embeddings.
    expect(Array.from((words.data as Float32Array).subarray(0, 32))).toEqual(new Array(32).fill(0));
    expect(t.get('bert.embeddings.LayerNorm.weight')!.dims).toEqual([32]);
  });

  it('round-trips tensors and keeps their order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const a = {
      name: 'a',
      dataType: 'float32' as const,
      dims: [2, 3],
      data: Float32Array.of(1, 2, 3, 4, 5, -6.5),
    };
    const b = { name: 'b.bias', dataType: 'int64' as const, dims: [2], data: BigInt64Array.of(7n, -8n) };
    writeSafetensors(join(dir, 'x.safetensors'), [a, b], { format: 'pt' });
    const back = readSafetensors(join(dir, 'x.safetensors'));
    expect([...back.keys()]).toEqual(['a', 'b.bias']);
    expect(back.get('a')).toEqual(a);
    expect(back.get('b.bias')).toEqual(b);
  });

  it('widens float16 and bfloat16 to float32', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const header = JSON.stringify({
      h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
      bf: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] },
    });
    const body = Buffer.from(Uint16Array.of(0x3c00, 0xc000, 0x3555, 0x3f80, 0xc040).buffer);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(join(dir, 'h.safetensors'), Buffer.concat([len, Buffer.from(header), body]));
    const t = readSafetensors(join(dir, 'h.safetensors'));
    expect(Array.from(t.get('h')!.data as Float32Array)).toEqual([1, -2, 0.333251953125]);
    expect(Array.from(t.get('bf')!.data as Float32Array)).toEqual([1, -3]);
  });

  it('names the file and tensor when the data does not match the header', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const header = JSON.stringify({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, Buffer.concat([len, Buffer.from(header), Buffer.alloc(8)]));
    expect(() => readSafetensors(path)).toThrow(
      /bad\.safetensors: tensor 'w' spans 8 bytes, shape \[4\] needs 16/,
    );
  });
});
