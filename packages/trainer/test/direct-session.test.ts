import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileArtifacts } from '@ortrain/artifacts';
import { DataCollatorWithPadding } from '@ortrain/data';
import { emptyGraph, encodeModel, GraphBuilder, modelOf } from '@ortrain/graph';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectProvider, sessionOptions } from '../src/runtime/device.js';
import { DirectSession } from '../src/runtime/direct-session.js';
import { cApiUnavailable } from '../src/runtime/ort-c-api.js';
import { Replica } from '../src/runtime/replica.js';
import { datasetOf, FIXTURES, maxAbsDiff, reference as ref } from './helpers/reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-direct-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let artifacts: string;
beforeAll(() => {
  artifacts = compileArtifacts(join(FIXTURES, 'bert_cls_opset14.onnx'), {
    name: 'tiny',
    outDir: tmp,
    dropout: { hidden: 0.1, attention: 0.1, classifier: 0.1 },
  }).dir;
});

/** A graph of Identity nodes over the given types, written to a file. */
function identityFile(name: string, types: ort.Tensor.Type[]): string {
  const g = emptyGraph(name);
  const b = new GraphBuilder(g);
  types.forEach((dataType, i) => {
    const type = { dataType: dataType as 'float32', shape: ['n'] };
    b.addInput({ name: `x${i}`, type });
    b.op('Identity', [`x${i}`], {}, { outputs: [`y${i}`] });
    b.addOutput({ name: `y${i}`, type });
  });
  const file = join(tmp, `${name}.onnx`);
  writeFileSync(file, encodeModel(modelOf(g)));
  return file;
}

// CI runs on Linux x64, where koffi ships a prebuilt library: there the direct path must load.
describe.runIf(process.platform === 'linux' && process.arch === 'x64')('sessions through the C API', () => {
  it("loads the C API of onnxruntime-node's own library", () => {
    expect(cApiUnavailable()).toBeNull();
  });

  it('trains exactly as onnxruntime-node sessions do, with dropout, and evaluates the same', async () => {
    const provider = await selectProvider('cpu');
    const direct = await Replica.open(artifacts, { provider });
    const binding = await Replica.open(artifacts, { provider, sessions: 'binding' });
    expect([direct.sessions, binding.sessions]).toEqual(['direct', 'binding']);
    const trainSet = datasetOf(ref.train_batches);
    const collator = new DataCollatorWithPadding();
    for (let i = 0; i < 3; i++) {
      const batch = collator.collate(trainSet, [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);
      const [a, b] = [await direct.step(batch, 1e-3, i + 1), await binding.step(batch, 1e-3, i + 1)];
      expect(a).toEqual(b);
      expect(a.loss).toBeGreaterThan(0);
    }
    const [wa, wb] = [direct.weights(), binding.weights()];
    for (let i = 0; i < wa.length; i++) expect(wa[i]!.data).toEqual(wb[i]!.data);
    const [sa, sb] = [direct.optimizerState(), binding.optimizerState()];
    for (let i = 0; i < sa.length; i++) expect(sa[i]!.data).toEqual(sb[i]!.data);
    const evalBatch = datasetOf([ref.eval_batch]);
    const batch = collator.collate(evalBatch, [0, 1, 2, 3]);
    const [ea, eb] = [await direct.evalBatch(batch), await binding.evalBatch(batch)];
    expect(ea.logits).toEqual(eb.logits);
    expect(ea.logits.length).toBe(4 * 2);
    await direct.release();
    await binding.release();
  });

  it('writes the new state into the buffers it is given: the same arrays, new values', async () => {
    const replica = await Replica.open(artifacts, { provider: await selectProvider('cpu') });
    const name = 'classifier.weight';
    const before = replica.view(name);
    const old = before.slice();
    const collator = new DataCollatorWithPadding();
    await replica.step(collator.collate(datasetOf(ref.train_batches), [0, 1, 2, 3]), 1e-3, 1);
    expect(replica.view(name)).toBe(before);
    expect(before).not.toEqual(old);
    await replica.release();
  });

  it('returns outputs of every type ONNX Runtime allocates, with their shapes', async () => {
    const types: ort.Tensor.Type[] = ['float32', 'int64', 'bool', 'float16', 'int32', 'uint8'];
    const session = DirectSession.create(identityFile('types', types), { intraOpNumThreads: 1 });
    const inputs: ort.Tensor[] = [
      new ort.Tensor('float32', Float32Array.of(1.5, -2), [2]),
      new ort.Tensor('int64', BigInt64Array.of(7n, -(2n ** 40n), 3n), [3]),
      new ort.Tensor('bool', Uint8Array.of(1, 0), [2]),
      new ort.Tensor('float16', Uint16Array.of(0x3c00), [1]),
      new ort.Tensor('int32', new Int32Array(0), [0]),
      new ort.Tensor('uint8', Uint8Array.of(255), [1]),
    ];
    const feeds = Object.fromEntries(inputs.map((t, i) => [`x${i}`, t]));
    const out = await session.run(feeds, Object.fromEntries(types.map((_, i) => [`y${i}`, null])));
    inputs.forEach((t, i) => {
      const y = out[`y${i}`]!;
      expect([y.type, y.dims]).toEqual([t.type, t.dims]);
      expect(y.data).toEqual(t.data);
      // A copy: ONNX Runtime's memory is released after the run.
      expect(y.data).not.toBe(t.data);
    });
    await session.release();
  });

  it('names the file and ONNX Runtime reason for a bad feed, and runs again afterwards', async () => {
    const file = identityFile('bad', ['float32']);
    const session = DirectSession.create(file, { intraOpNumThreads: 1 });
    const wrong = { x0: new ort.Tensor('int64', BigInt64Array.of(1n), [1]) };
    await expect(session.run(wrong, { y0: null })).rejects.toThrow(
      new RegExp(`${file.replace(/[.\\/]/g, '\\$&')}: .*(type|tensor\\(float\\))`, 'i'),
    );
    const out = await session.run({ x0: new ort.Tensor('float32', Float32Array.of(4), [1]) }, { y0: null });
    expect(out['y0']!.data).toEqual(Float32Array.of(4));
    await session.release();
    await expect(session.run(wrong, { y0: null })).rejects.toThrow(/the session was released/);
  });

  it('frees a session released mid-run only after that run, which completes; later runs are refused', async () => {
    const session = DirectSession.create(identityFile('long', ['float32']), { intraOpNumThreads: 1 });
    const x = new Float32Array(2 ** 23).map((_, i) => i % 1000);
    const run = session.run({ x0: new ort.Tensor('float32', x, [x.length]) }, { y0: null });
    let done = false;
    void run.then(() => {
      done = true;
    });
    await session.release();
    expect(done).toBe(true); // released after the run, not under it (ONNX Runtime would read a freed session)
    const y = (await run)['y0']!.data as Float32Array;
    expect([y.length, maxAbsDiff(y, x)]).toEqual([x.length, 0]);
    await expect(session.run({ x0: new ort.Tensor('float32', x, [x.length]) }, { y0: null })).rejects.toThrow(
      /the session was released/,
    );
  });

  it('takes the CPU session options replicas use and refuses the others', async () => {
    const file = identityFile('options', ['float32']);
    const cpu = sessionOptions({ device: 'cpu', numThreads: 1 });
    expect(cpu.enableMemPattern).toBe(false);
    const session = DirectSession.create(file, cpu);
    const out = await session.run({ x0: new ort.Tensor('float32', Float32Array.of(2), [1]) }, { y0: null });
    expect(out['y0']!.data).toEqual(Float32Array.of(2));
    await session.release();
    expect(() => DirectSession.create(file, { ...cpu, executionProviders: ['webgpu'] })).toThrow(
      /run on the CPU and do not take executionProviders/,
    );
    expect(() => DirectSession.create(file, { enableProfiling: true })).toThrow(
      /do not take enableProfiling/,
    );
  });

  it('names a file ONNX Runtime cannot load', () => {
    const file = join(tmp, 'not-a-model.onnx');
    writeFileSync(file, 'not a model');
    expect(() => DirectSession.create(file, { intraOpNumThreads: 1 })).toThrow(
      new RegExp(`${file.replace(/[.\\/]/g, '\\$&')}: ONNX Runtime could not load it: .+`),
    );
  });
});

describe('session kinds', () => {
  it('GPU devices refuse direct sessions (they keep state on the device through the binding)', async () => {
    await expect(
      Replica.open(artifacts, { provider: { device: 'webgpu', reason: 'test' }, sessions: 'direct' }),
    ).rejects.toThrow(/sessions "direct" run on the CPU only, not on webgpu/);
  });
});
