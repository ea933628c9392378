export * from './dataset.js';
export * from './tasks.js';
export * from './tsv.js';
