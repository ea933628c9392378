/**
 * What the Trainer trains: a model source compiled with the arguments' settings, or a model compiled already
 * (in memory or a folder) whose baked-in settings must agree with the arguments.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  type ArtifactManifest,
  type CompiledModel,
  type CompileOptions,
  TOKENIZER_FILES,
} from '@ortrain/artifacts';
import { type HubOptions, hubDownload, hubDownloadOptional } from '@ortrain/data';
import type { Device } from '../runtime/device.js';
import type { TrainingArguments } from './arguments.js';

/** A model to compile before training: an ONNX export, an HF checkpoint folder, or a hub id. */
export interface ModelSource {
  source: string;
  /** Number of labels (default 2); 1 is regression. */
  numLabels?: number;
  /** id2label names for the exported config.json. */
  labelNames?: string[];
  /** Parameters to freeze (name prefixes or patterns). */
  freeze?: (string | RegExp)[];
}

/** The compiled graphs' folder in output_dir, for the Trainer and `pnpm train` alike. */
export const COMPILED_DIR = 'training';

/**
 * The one mapping from training arguments to compile options: optimizer, dropout, label smoothing, seed and
 * mixed precision (fp16 / bf16), compiled into `<output_dir>/training`; the K-step graph when the arguments ask
 * for several steps per run, or leave that to CUDA (the Trainer runs 8 per run there by default).
 */
export function compileOptionsFor(
  args: TrainingArguments,
  model: ModelSource,
  device: Device,
): CompileOptions {
  return {
    name: COMPILED_DIR,
    outDir: args.output_dir,
    ...(model.numLabels !== undefined && { numLabels: model.numLabels }),
    ...(model.labelNames && { labelNames: model.labelNames }),
    ...(model.freeze && { freeze: model.freeze }),
    ...(args.dropout !== null && {
      dropout: { hidden: args.dropout, attention: args.dropout, classifier: args.dropout },
    }),
    optimizer: {
      beta1: args.adam_beta1,
      beta2: args.adam_beta2,
      epsilon: args.adam_epsilon,
      weightDecay: args.weight_decay,
      maxGradNorm: args.max_grad_norm,
    },
    seed: args.seed,
    labelSmoothing: args.label_smoothing_factor,
    ...(args.fp16 && { mixedPrecision: 'fp16' as const }),
    ...(args.bf16 && { mixedPrecision: 'bf16' as const }),
    multiStep: args.steps_per_run !== null ? args.steps_per_run > 1 : device === 'cuda',
  };
}

/**
 * A compiled model bakes optimizer, dropout and label-smoothing settings in: refuse training arguments that disagree with them
 * (compared through compileOptionsFor, so the two cannot drift), or that need a graph it lacks.
 */
export function checkCompiledSettings(args: TrainingArguments, m: ArtifactManifest, dir: string): void {
  const want = compileOptionsFor(args, { source: dir }, 'cpu');
  const o = want.optimizer!;
  const pairs: [string, number, number][] = [
    ['adam_beta1', o.beta1!, m.optimizer.beta1],
    ['adam_beta2', o.beta2!, m.optimizer.beta2],
    ['adam_epsilon', o.epsilon!, m.optimizer.epsilon],
    ['weight_decay', o.weightDecay!, m.optimizer.weightDecay],
    ['max_grad_norm', o.maxGradNorm!, Math.max(0, m.optimizer.maxGradNorm)],
    ['label_smoothing_factor', want.labelSmoothing!, m.labelSmoothing ?? 0],
  ];
  if (want.dropout) {
    pairs.push(['dropout', want.dropout.hidden!, m.dropout.hidden]);
    pairs.push(['dropout', want.dropout.attention!, m.dropout.attention]);
    pairs.push(['dropout', want.dropout.classifier!, m.dropout.classifier]);
  }
  for (const [key, value, compiled] of pairs) {
    if (Math.abs(value - compiled) > 1e-12 * Math.max(1, Math.abs(value))) {
      throw new Error(
        `TrainingArguments.${key} is ${value} but the artifacts in ${dir} were compiled with ${compiled}; ` +
          'recompile them with that setting, or pass the model source ({ source }) so the Trainer compiles it',
      );
    }
  }
  const precision = (mode: string | undefined) =>
    mode === 'fp16' ? 'float16' : mode === 'bf16' ? 'bfloat16' : 'float32';
  const [wanted, compiled] = [precision(want.mixedPrecision), m.mixedPrecision?.dtype ?? 'float32'];
  if (wanted !== compiled) {
    throw new Error(
      `TrainingArguments.fp16 / bf16 ask for ${wanted} but the artifacts in ${dir} were compiled for ${compiled}; ` +
        'recompile them with that setting, or pass the model source ({ source }) so the Trainer compiles it',
    );
  }
  if ((args.steps_per_run ?? 1) > 1 && !m.graphs.multistep) {
    throw new Error(
      `TrainingArguments.steps_per_run is ${args.steps_per_run} but the artifacts in ${dir} were compiled ` +
        'without the multi-step graph; recompile them with multiStep: true',
    );
  }
}

/** A short per-request timeout for the small files, so an unreachable hub is known in seconds. */
export const HUB_PROBE_TIMEOUT_MS = 5_000;

export const isHubId = (s: string): boolean => /^[\w.-]+(\/[\w.-]+)?$/.test(s);

/**
 * Downloads a hub model's config, weights and (optional) tokenizer files into the cache, or finds them there
 * offline; returns the folder. `hub` options override the timeouts.
 */
export async function downloadHubModel(id: string, hub: HubOptions = {}): Promise<string> {
  const config = await hubDownload(id, 'config.json', { timeoutMs: HUB_PROBE_TIMEOUT_MS, ...hub });
  // bert-base-uncased's weights are 440 MB: the timeout covers the whole download.
  await hubDownload(id, 'model.safetensors', { timeoutMs: 30 * 60_000, ...hub });
  for (const f of TOKENIZER_FILES) {
    await hubDownloadOptional(id, f, { timeoutMs: HUB_PROBE_TIMEOUT_MS, ...hub });
  }
  return dirname(config);
}

/** A local path as is; otherwise a hub id, downloaded (or read from the cache offline). */
export async function resolveModelSource(source: string, hub: HubOptions = {}): Promise<string> {
  if (existsSync(source)) return resolve(source);
  if (!isHubId(source)) {
    throw new Error(`model source '${source}' is neither a local path nor a hub id`);
  }
  try {
    return await downloadHubModel(source, hub);
  } catch (e) {
    const why = (e as Error).message;
    throw new Error(`model '${source}': not a local path, and the hub copy is unavailable: ${why}`, {
      cause: e,
    });
  }
}

/** The folder holding a model source's tokenizer files, when it has them. */
export function tokenizerFolderOf(source: string): string | undefined {
  const dir = existsSync(source) && !source.endsWith('.onnx') ? source : dirname(source);
  return TOKENIZER_FILES.some((f) => existsSync(join(dir, f))) ? dir : undefined;
}

/** A compiled model given in memory rather than as a folder or source. */
export function isCompiled(m: unknown): m is CompiledModel {
  return typeof m === 'object' && m !== null && 'manifest' in m;
}
