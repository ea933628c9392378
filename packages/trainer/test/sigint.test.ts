import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestValidCheckpoint } from '../src/checkpoint/checkpoints.js';
import { FIXTURES } from './helpers/reference.js';
import { transpileSources } from './helpers/transpile.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-sigint-'));
let build: ReturnType<typeof transpileSources>;
beforeAll(() => {
  build = transpileSources();
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  build.cleanup();
});

describe('SIGINT', () => {
  it('a real SIGINT finishes the step, saves a checkpoint and says how to resume', async () => {
    const outputDir = join(tmp, 'run');
    const script = `
      const { Trainer, TrainingArguments, TrainingInterrupted } = await import(${JSON.stringify(build.index)});
      const { datasetOf, reference } = await import(${JSON.stringify(join(build.helpers, 'reference.js'))});
      const trainer = new Trainer({
        model: { source: ${JSON.stringify(join(FIXTURES, 'bert_cls_opset14.onnx'))} },
        args: new TrainingArguments({ output_dir: ${JSON.stringify(outputDir)}, num_train_epochs: 1000,
          per_device_train_batch_size: 4, device: 'cpu', dropout: 0, save_strategy: 'no' }),
        trainDataset: datasetOf(reference.train_batches),
      });
      trainer.on('step', (e) => { if (e.globalStep === 3) console.log('step 3'); });
      try {
        await trainer.train();
      } catch (e) {
        if (e instanceof TrainingInterrupted) { console.log(e.message); process.exit(130); }
        throw e;
      }
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (d.toString().includes('step 3')) child.kill('SIGINT');
      });
      child.on('exit', () => resolve());
    });
    expect(child.exitCode).toBe(130);
    const ckpt = latestValidCheckpoint(outputDir);
    expect(ckpt).toMatch(/checkpoint-\d+$/);
    expect(out).toContain(`Training interrupted; state saved to ${ckpt}. Resume with`);
    expect(out).toContain('resumeFromCheckpoint');
    expect(existsSync(join(outputDir, 'onnx'))).toBe(false);
  }, 60_000);
});
