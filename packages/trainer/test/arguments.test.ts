import { describe, expect, it } from 'vitest';
import { TRAINING_ARGUMENT_SPECS } from '../src/trainer/argument-spec.js';
import { reportsTo, TrainingArguments } from '../src/trainer/arguments.js';

describe('TrainingArguments', () => {
  it("has HF's defaults", () => {
    const a = new TrainingArguments('test-trainer');
    expect(a).toMatchObject({
      output_dir: 'test-trainer',
      num_train_epochs: 3,
      max_steps: -1,
      per_device_train_batch_size: 8,
      per_device_eval_batch_size: 8,
      learning_rate: 5e-5,
      weight_decay: 0,
      adam_beta1: 0.9,
      adam_beta2: 0.999,
      adam_epsilon: 1e-8,
      max_grad_norm: 1,
      lr_scheduler_type: 'linear',
      warmup_steps: 0,
      warmup_ratio: 0,
      gradient_accumulation_steps: 1,
      logging_steps: 500,
      eval_strategy: 'no',
      do_eval: false,
      save_strategy: 'steps',
      save_steps: 500,
      save_total_limit: null,
      load_best_model_at_end: false,
      metric_for_best_model: null,
      seed: 42,
      data_seed: null,
      full_determinism: false,
      group_by_length: false,
      shuffle: true,
      dropout: null,
      device: 'auto',
    });
  });

  it("accepts the course's evaluation_strategy name", () => {
    expect(new TrainingArguments({ output_dir: 'x', evaluation_strategy: 'epoch' }).eval_strategy).toBe(
      'epoch',
    );
    expect(
      () => new TrainingArguments({ output_dir: 'x', evaluation_strategy: 'epoch', eval_strategy: 'no' }),
    ).toThrow(/disagree/);
  });

  it('derives eval_steps, metric_for_best_model and greater_is_better like HF', () => {
    const a = new TrainingArguments({ output_dir: 'x', eval_strategy: 'steps', logging_steps: 50 });
    expect(a.eval_steps).toBe(50);
    const b = new TrainingArguments({
      output_dir: 'x',
      eval_strategy: 'epoch',
      save_strategy: 'epoch',
      load_best_model_at_end: true,
    });
    expect(b.metric_for_best_model).toBe('loss');
    expect(b.greater_is_better).toBe(false);
    const c = new TrainingArguments({ output_dir: 'x', metric_for_best_model: 'f1' });
    expect(c.greater_is_better).toBe(true);
  });

  it('rejects bad values with the option named', () => {
    expect(() => new TrainingArguments({ output_dir: 'x', learning_rate: -1 })).toThrow(
      'TrainingArguments.learning_rate: expected a number >= 0, got -1',
    );
    expect(() => new TrainingArguments({ output_dir: 'x', lr_scheduler_type: 'poly' as 'linear' })).toThrow(
      /lr_scheduler_type: expected one of "linear"/,
    );
    expect(() => new TrainingArguments({ output_dir: 'x', per_device_train_batch_size: 2.5 })).toThrow(
      /per_device_train_batch_size/,
    );
    expect(() => new TrainingArguments({ output_dir: '' })).toThrow(/output_dir/);
    expect(() => new TrainingArguments({ output_dir: 'x', learning_rat: 1 } as never)).toThrow(
      "unknown option 'learning_rat'",
    );
  });

  it('checks data_seed and full_determinism (which refuses CUDA)', () => {
    expect(new TrainingArguments({ output_dir: 'x', data_seed: 7 }).data_seed).toBe(7);
    expect(() => new TrainingArguments({ output_dir: 'x', data_seed: -1 })).toThrow(
      'TrainingArguments.data_seed: expected an integer >= 0, got -1',
    );
    expect(
      new TrainingArguments({ output_dir: 'x', full_determinism: true, device: 'auto' }).full_determinism,
    ).toBe(true);
    expect(() => new TrainingArguments({ output_dir: 'x', full_determinism: true, device: 'cuda' })).toThrow(
      'TrainingArguments.full_determinism needs device cpu or auto (CUDA kernels are not bit-reproducible)',
    );
    expect(
      () => new TrainingArguments({ output_dir: 'x', full_determinism: true, device: 'webgpu' }),
    ).toThrow(
      'TrainingArguments.full_determinism needs device cpu or auto (WebGPU kernels are not bit-reproducible)',
    );
  });

  it('enforces the load_best_model_at_end constraints', () => {
    expect(
      () =>
        new TrainingArguments({
          output_dir: 'x',
          eval_strategy: 'epoch',
          save_strategy: 'steps',
          load_best_model_at_end: true,
        }),
    ).toThrow(/save_strategy to match eval_strategy/);
    expect(
      () =>
        new TrainingArguments({
          output_dir: 'x',
          eval_strategy: 'steps',
          eval_steps: 30,
          save_steps: 50,
          load_best_model_at_end: true,
        }),
    ).toThrow(/round multiple/);
  });

  it('has exactly the fields of its spec, each at its default', () => {
    const a = new TrainingArguments('x');
    expect(Object.keys(a.toJSON()).sort()).toEqual(TRAINING_ARGUMENT_SPECS.map((s) => s.key).sort());
    for (const spec of TRAINING_ARGUMENT_SPECS) {
      // HF derives run_name from output_dir.
      if (spec.key === 'run_name') expect(a.run_name).toBe(a.output_dir);
      else if (spec.key !== 'output_dir') expect(a[spec.key], spec.key).toBe(spec.default);
    }
  });

  it('takes its fields from a larger record with fromOptions', () => {
    const a = TrainingArguments.fromOptions({ output_dir: 'x', seed: 3, task: 'mrpc', dropout: undefined });
    expect(a).toMatchObject({ output_dir: 'x', seed: 3, dropout: null });
    expect(new TrainingArguments({ output_dir: 'x', threads: 2 }).num_threads).toBe(2);
  });

  it("sets do_eval when an eval_strategy evaluates, as HF's __post_init__; alone it asks for the final evaluation", () => {
    expect(new TrainingArguments({ output_dir: 'x', eval_strategy: 'epoch' }).do_eval).toBe(true);
    expect(new TrainingArguments({ output_dir: 'x', eval_strategy: 'steps', do_eval: false }).do_eval).toBe(
      true,
    );
    expect(new TrainingArguments({ output_dir: 'x', do_eval: true })).toMatchObject({
      do_eval: true,
      eval_strategy: 'no',
    });
  });

  it('round-trips through JSON', () => {
    const a = new TrainingArguments({ output_dir: 'x', learning_rate: 2e-5, eval_strategy: 'epoch' });
    const b = new TrainingArguments(JSON.parse(JSON.stringify(a)));
    expect(b).toEqual(a);
  });

  it('reports to nothing and pushes nothing by default; run_name defaults to output_dir, as HF', () => {
    const a = new TrainingArguments('out');
    expect(a).toMatchObject({
      report_to: 'none',
      logging_dir: null,
      run_name: 'out',
      push_to_hub: false,
      hub_strategy: 'every_save',
      label_smoothing_factor: 0,
    });
    expect(reportsTo(a, 'tensorboard')).toBe(false);
    expect(reportsTo(a.with({ report_to: 'all' }), 'tensorboard')).toBe(true);
    expect(reportsTo(a.with({ report_to: ['tensorboard'] }), 'tensorboard')).toBe(true);
    expect(() => a.with({ report_to: 'wandb' as 'none' })).toThrow(/report_to: expected one or a list of/);
    expect(() => a.with({ hub_strategy: 'sometimes' as 'end' })).toThrow(/hub_strategy/);
    expect(() => a.with({ label_smoothing_factor: 1 })).toThrow(
      /label_smoothing_factor: expected a number in \[0, 1\)/,
    );
  });

  it('redacts hub_token in toJSON (checkpoints) but keeps it through with()', () => {
    const a = new TrainingArguments({ output_dir: 'o', hub_token: 'hf_secret' });
    expect(a.toJSON()['hub_token']).toBe('<HUB_TOKEN>');
    expect(JSON.stringify(a)).not.toContain('hf_secret');
    expect(a.with({ learning_rate: 1e-4 }).hub_token).toBe('hf_secret');
  });
});
