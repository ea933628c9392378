export { type FileContent, writeDirAtomic } from './checkpoint/atomic.js';
export {
  CHECKPOINT_PREFIX,
  type CheckpointContent,
  type CheckpointEntry,
  CheckpointError,
  checkpointDir,
  latestValidCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  removeStaleTemps,
  rotateCheckpoints,
  saveCheckpoint,
  validateCheckpoint,
} from './checkpoint/checkpoints.js';
export { type ModelCardInfo, modelCard, resultsTable } from './hub/model-card.js';
export { HubPushError, HubPusher, type HubPushOptions } from './hub/push.js';
export { buildMultiStepModel } from './runtime/loop.js';
export { type Device, type ProviderChoice, type SessionConfig, selectProvider } from './runtime/provider.js';
export {
  type EvalResult,
  type RuntimeOptions,
  readManifest,
  type StepResult,
  TrainingSession,
} from './runtime/session.js';
export { StateBuffers } from './runtime/state.js';
export {
  type DeviceOption,
  type HubStrategy,
  type IntervalStrategy,
  type ReportTo,
  reportsTo,
  TrainingArguments,
  TrainingArgumentsError,
  type TrainingArgumentsInit,
} from './trainer/arguments.js';
export {
  LRScheduler,
  type PlateauState,
  SCHEDULER_TYPES,
  type SchedulerKwargs,
  type SchedulerType,
  schedulerKwargsError,
  warmupStepsFor,
} from './trainer/scheduler.js';
export type { LogEntry, TrainerStateJSON } from './trainer/state.js';
export {
  type ModelSource,
  type PredictionOutput,
  type StepEvent,
  Trainer,
  type TrainerEvents,
  type TrainerOptions,
  TrainingInterrupted,
  type TrainOutput,
} from './trainer/trainer.js';
