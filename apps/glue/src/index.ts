/** The GLUE app's commands, for embedding them in other tools; `dist/main.js` is the command line. */
export { evaluate } from './commands/evaluate.js';
export { predict, type WrittenPredictions, writeSplitPredictions } from './commands/predict.js';
export { EMBEDDED_DIR, train } from './commands/train.js';
export * from './embedded/index.js';
export {
  checkDataDir,
  type DataSource,
  HubUnavailable,
  hasSplit,
  InputError,
  loadSplit,
  type ResolvedModel,
  resolveHubModel,
  resolveLocalModel,
  resolveModel,
  testSplit,
  validationSplit,
  validationSplits,
} from './resolve.js';
export { openTrained, type TrainedModel, taskFor, trainerFor } from './trained.js';
