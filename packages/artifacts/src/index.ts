export { type CompileOptions, type CompileReport, type CompileResult, compileArtifacts } from './compile.js';
export { type BertConfig, parseBertConfig, readBertConfig } from './config.js';
export { exportInference, type InferenceExportOptions, TOKENIZER_FILES } from './export/inference.js';
export { hfStateDict } from './export/state-dict.js';
export type { AttachPoint, ImportedEncoder } from './import/encoder.js';
export { importSource, type SourceOptions } from './import/source.js';
export type * from './manifest.js';
export type { PackReport } from './packing/pack.js';
export { readSafetensors, writeSafetensors } from './safetensors.js';
