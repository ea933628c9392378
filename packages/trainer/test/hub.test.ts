import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { modelCard, resultsTable } from '../src/hub/model-card.js';
import { HubPusher } from '../src/hub/push.js';
import { TrainingArguments, type TrainingArgumentsInit } from '../src/trainer/arguments.js';
import { COMPILED_DIR } from '../src/trainer/model.js';
import { initialState } from '../src/trainer/state.js';
import { Trainer } from '../src/trainer/trainer.js';
import { startHub } from './helpers/hub-server.js';
import { datasetOf, FIXTURES, reference as ref } from './helpers/reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-hub-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const TOKEN = 'hf_local_test_token';
let hub: Awaited<ReturnType<typeof startHub>>;
afterEach(async () => hub?.close());
let n = 0;

/** An output folder as a finished run leaves it, with things push_to_hub must skip. */
function outputDir(): string {
  const out = join(tmp, `run-${n++}`);
  for (const dir of ['onnx', 'checkpoint-4', COMPILED_DIR, 'runs/Dec02_x', '.cache'])
    mkdirSync(join(out, dir), { recursive: true });
  writeFileSync(join(out, 'config.json'), '{"model_type": "bert"}');
  writeFileSync(join(out, 'onnx', 'model.onnx'), Buffer.alloc(3000, 7));
  writeFileSync(join(out, 'checkpoint-4', 'model.safetensors'), Buffer.alloc(100, 1));
  writeFileSync(join(out, COMPILED_DIR, 'manifest.json'), '{}');
  writeFileSync(join(out, COMPILED_DIR, 'train.onnx'), 'x');
  writeFileSync(join(out, 'runs', 'Dec02_x', 'events.out.tfevents.1.h.1.0'), 'tb');
  writeFileSync(join(out, '.cache', 'x'), 'x');
  return out;
}

const argsFor = (out: string, extra: Partial<TrainingArgumentsInit> = {}) =>
  new TrainingArguments({ output_dir: out, push_to_hub: true, hub_token: TOKEN, ...extra });

const paths = (commit: { key: string; value: Record<string, unknown> }[]) =>
  commit
    .filter((l) => l.key !== 'header')
    .map((l) => l.value['path'] as string)
    .sort();

describe('HubPusher against a local hub', () => {
  it('creates <user>/<output folder> and uploads the output folder with a model card, LFS for the model', async () => {
    hub = await startHub();
    const out = outputDir();
    const pusher = await HubPusher.open(argsFor(out), { endpoint: hub.url });
    const name = out.split('/').pop()!;
    expect(pusher.repo).toBe(`tester/${name}`);
    const state = {
      ...initialState(),
      log_history: [{ eval_loss: 0.5, eval_accuracy: 0.75, epoch: 1, step: 4 }],
    };
    await pusher.pushEnd(modelCard(argsFor(out), state, { modelName: name, baseModel: 'bert-base-uncased' }));

    expect(hub.requests.map((r) => `${r.method} ${r.url.replace(/[0-9a-f]{64}/, '<sha>')}`)).toEqual([
      'GET /api/whoami-v2',
      'POST /api/repos/create',
      `POST /api/models/tester/${name}/preupload/main`,
      `POST /tester/${name}.git/info/lfs/objects/batch`,
      'PUT /lfs/<sha>',
      `POST /api/models/tester/${name}/commit/main`,
    ]);
    for (const r of hub.requests.filter((r) => !r.url.startsWith('/lfs/')))
      expect(r.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.parse(hub.requests[1]!.body.toString())).toMatchObject({
      name,
      organization: 'tester',
      type: 'model',
    });
    const [commit] = hub.commits();
    expect(commit![0]).toMatchObject({ key: 'header', value: { summary: 'End of training' } });
    expect(paths(commit!)).toEqual([
      'README.md',
      'config.json',
      'onnx/model.onnx',
      'runs/Dec02_x/events.out.tfevents.1.h.1.0',
    ]);
    expect(commit!.find((l) => l.value['path'] === 'onnx/model.onnx')).toMatchObject({
      key: 'lfsFile',
      value: { size: 3000 },
    });
    const readme = commit!.find((l) => l.value['path'] === 'README.md')!.value;
    const card = Buffer.from(readme['content'] as string, 'base64').toString();
    expect(card).toContain(
      'fine-tuned version of [bert-base-uncased](https://huggingface.co/bert-base-uncased)',
    );
    expect(card).toContain('- Loss: 0.5000\n- Accuracy: 0.7500');
    expect(card).toContain('| No log | 1 | 4 | 0.5000 | 0.7500 |');
  });

  it('follows hub_strategy at saves: nothing for end, last-checkpoint/ for checkpoint, checkpoint-N/ for all_checkpoints', async () => {
    hub = await startHub({ existing: true });
    const exports: string[] = [];
    for (const hub_strategy of ['end', 'every_save', 'checkpoint', 'all_checkpoints'] as const) {
      const out = outputDir();
      const pusher = await HubPusher.open(argsFor(out, { hub_strategy, hub_model_id: 'org/model' }), {
        endpoint: hub.url,
      });
      await pusher.pushCheckpoint(join(out, 'checkpoint-4'), { global_step: 4, epoch: 0.5 }, () =>
        exports.push(hub_strategy),
      );
    }
    // An existing repository (409) is pushed into; no whoami with a full id.
    expect(hub.requests.some((r) => r.url === '/api/whoami-v2')).toBe(false);
    expect(exports).toEqual(['every_save', 'checkpoint', 'all_checkpoints']);
    const commits = hub.commits();
    expect(commits.map((c) => c[0]!.value['summary'])).toEqual(Array(3).fill('Training in progress, step 4'));
    expect(paths(commits[0]!)).not.toContain('checkpoint-4/model.safetensors');
    expect(paths(commits[1]!)).toContain('last-checkpoint/model.safetensors');
    expect(paths(commits[2]!)).toContain('checkpoint-4/model.safetensors');
  });

  it('fails before any request without a token, offline, or with a rejected token or an unreachable hub', async () => {
    hub = await startHub({ status: 401 });
    const out = outputDir();
    const saved = process.env['HF_TOKEN'];
    delete process.env['HF_TOKEN'];
    try {
      await expect(HubPusher.open(argsFor(out, { hub_token: null }), { endpoint: hub.url })).rejects.toThrow(
        /push_to_hub needs a token with write access: set TrainingArguments.hub_token or the HF_TOKEN/,
      );
    } finally {
      if (saved !== undefined) process.env['HF_TOKEN'] = saved;
    }
    await expect(HubPusher.open(argsFor(out), { endpoint: hub.url, offline: true })).rejects.toThrow(
      /offline/,
    );
    expect(hub.requests).toHaveLength(0);
    await expect(HubPusher.open(argsFor(out), { endpoint: hub.url })).rejects.toThrow(
      /push_to_hub: checking the token at http:\/\/127\.0\.0\.1:\d+: the token was rejected \(401\)/,
    );
    const closed = hub.url;
    await hub.close();
    await expect(HubPusher.open(argsFor(out, { hub_model_id: 'a/b' }), { endpoint: closed })).rejects.toThrow(
      /push_to_hub: creating a\/b at http:\/\/127\.0\.0\.1:\d+: the hub cannot be reached \(ECONNREFUSED\)/,
    );
    hub = await startHub();
  });
});

describe('push_to_hub in Trainer.train()', () => {
  const trainSet = datasetOf(ref.train_batches);
  const model = { source: join(FIXTURES, 'bert_cls_opset14.onnx') };
  const trainArgs = (out: string, extra: Partial<TrainingArgumentsInit>) =>
    argsFor(out, {
      per_device_train_batch_size: 8,
      num_train_epochs: 2,
      device: 'cpu',
      dropout: 0,
      eval_strategy: 'epoch',
      save_strategy: 'epoch',
      hub_model_id: 'tester/tiny',
      ...extra,
    });
  it('pushes at each epoch save and at the end, with the evaluations in the card', async () => {
    hub = await startHub();
    const out = join(tmp, 'trained');
    const t = new Trainer({
      model,
      args: trainArgs(out, {}),
      trainDataset: trainSet,
      evalDataset: trainSet,
      hub: { endpoint: hub.url },
    });
    await t.train();
    await t.close();
    const commits = hub.commits();
    expect(commits.map((c) => c[0]!.value['summary'])).toEqual([
      'Training in progress, epoch 1',
      'Training in progress, epoch 2',
      'End of training',
    ]);
    const last = commits[2]!;
    expect(paths(last)).toContain('onnx/model.onnx');
    expect(existsSync(join(out, COMPILED_DIR, 'manifest.json'))).toBe(true);
    expect(paths(last).some((p) => p.startsWith(`${COMPILED_DIR}/`) || p.startsWith('checkpoint-'))).toBe(
      false,
    );
    const card = Buffer.from(
      last.find((l) => l.value['path'] === 'README.md')!.value['content'] as string,
      'base64',
    ).toString();
    const rows = resultsTable(t.state.log_history);
    expect(rows.map((r) => [r['Epoch'], r['Step']])).toEqual([
      [1, 4],
      [2, 8],
    ]);
    expect(card).toContain(`| 2 | 8 | ${(rows[1]!['Validation Loss'] as number).toFixed(4)} |`);
  });

  it('stops before writing anything when the hub cannot be reached', async () => {
    hub = await startHub();
    const closed = hub.url;
    await hub.close();
    const out = join(tmp, 'never-written');
    const t = new Trainer({
      model,
      args: trainArgs(out, { eval_strategy: 'no' }),
      trainDataset: trainSet,
      hub: { endpoint: closed },
    });
    await expect(t.train()).rejects.toThrow(/the hub cannot be reached/);
    expect(existsSync(out)).toBe(false);
    hub = await startHub();
  });
});
