export {
  type Average,
  type AveragedInput,
  accuracy,
  type ClassificationInput,
  type ConfusionMatrix,
  confusionMatrix,
  f1,
  matthewsCorrcoef,
  type PerClassScores,
  type PrecisionRecallF1,
  perClassScores,
  precision,
  precisionRecallF1,
  recall,
} from './classification.js';
export { meanSquaredError, pearson, rankData, spearman } from './correlation.js';
export {
  type EvalPrediction,
  fileComputeMetrics,
  GLUE_TASKS,
  type GlueMetric,
  type GlueMetricName,
  type GlueResult,
  type GlueTask,
  glueComputeMetrics,
  glueMetric,
  isGlueTask,
} from './glue.js';
export { argmax, type FlatLogits, type Logits, softmax, squeezeLogits } from './logits.js';
export { MetricInputError, type NumericVector } from './validate.js';
