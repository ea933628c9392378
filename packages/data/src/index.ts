export * from './collator.js';
export * from './dataset.js';
export * from './hub.js';
export * from './sampler.js';
export * from './tasks.js';
export * from './tokenized.js';
export * from './tokenizer.js';
export * from './tsv.js';
