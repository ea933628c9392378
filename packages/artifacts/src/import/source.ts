import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type BertConfig, readBertConfig } from '../config.js';
import { importHfCheckpoint } from '../hf/build.js';
import type { ImportedEncoder } from './encoder.js';
import { importOnnx } from './onnx.js';

export interface SourceOptions {
  /** For exports whose outputs are masked-LM or token-classification logits: the encoder output to cut at. */
  encoderOutput?: string;
  /** config.json path or parsed config; default: the one beside the model. */
  config?: string | BertConfig;
}

/**
 * Imports a model from: an `.onnx` file; a folder with `onnx/model.onnx` (Optimum, transformers.js) or
 * `model.onnx`; or an HF checkpoint folder (`config.json` + `model.safetensors`).
 */
export function importSource(source: string, options: SourceOptions = {}): ImportedEncoder {
  if (!existsSync(source)) throw new Error(`${source}: no such file or folder`);
  const config = typeof options.config === 'string' ? readBertConfig(options.config) : options.config;
  const onnxOptions = {
    ...(options.encoderOutput !== undefined && { encoderOutput: options.encoderOutput }),
    ...(config && { config }),
  };
  if (!statSync(source).isDirectory()) return importOnnx(source, onnxOptions);
  for (const candidate of [join(source, 'onnx', 'model.onnx'), join(source, 'model.onnx')]) {
    if (existsSync(candidate)) return importOnnx(candidate, onnxOptions);
  }
  if (existsSync(join(source, 'model.safetensors'))) {
    if (options.encoderOutput !== undefined)
      throw new Error(`${source}: encoderOutput applies to ONNX exports only`);
    return importHfCheckpoint(source, config);
  }
  throw new Error(`${source}: found neither onnx/model.onnx, model.onnx nor model.safetensors`);
}
