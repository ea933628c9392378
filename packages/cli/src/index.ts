export { readConfigFile, saveOptions } from './options/config.js';
export { renderHelp } from './options/help.js';
export {
  formatUsageError,
  type OptionSource,
  type ParseContext,
  type ParseResult,
  parseEvaluateArgs,
  parsePredictArgs,
  parseTrainArgs,
  UsageError,
} from './options/parse.js';
export { flagOf, type OptionSpec, type OptionType, type OptionValue } from './options/spec.js';
export {
  CONFIG_OPTION,
  EVALUATE_OPTIONS,
  type EvaluateOptions,
  PREDICT_OPTIONS,
  type PredictOptions,
  TRAIN_OPTIONS,
  type TrainOptions,
} from './options/table.js';
export {
  formatCount,
  formatDuration,
  formatLearningRate,
  formatMetric,
  formatMetrics,
  shellQuote,
} from './progress/format.js';
export {
  createReporter,
  type EvaluationResult,
  type EvaluationStart,
  type ModelGeometry,
  type OutputStream,
  type ProgressReporter,
  type ReporterOptions,
  type StepUpdate,
  type TrainingResult,
  type TrainingSummary,
} from './progress/reporter.js';
export { formatJson, writeJsonAtomic } from './reports/atomic.js';
export { type ChartOptions, escapeXml, niceTicks, renderRunChart, writeRunChart } from './reports/chart.js';
export {
  type EventLog,
  type EventLogOptions,
  openEventLog,
  type RunEvent,
  readEventLog,
} from './reports/events.js';
export { OUTPUT_FILES } from './reports/files.js';
export {
  detailsPathFor,
  type Prediction,
  type PredictionFiles,
  type PredictionFormat,
  writePredictions,
} from './reports/predictions.js';
export { isRunMetric, type Metrics, saveMetrics, speedMetrics } from './reports/results.js';
export {
  defaultLoggingDir,
  maskedCrc32c,
  openTensorBoardWriter,
  type TensorBoardOptions,
  type TensorBoardWriter,
  tensorBoardReporter,
  tensorBoardTag,
  tfRecord,
} from './reports/tensorboard.js';
