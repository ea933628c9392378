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
  type IntervalStrategy,
  type SchedulerType,
  TrainingArguments,
  TrainingArgumentsError,
  type TrainingArgumentsInit,
} from './trainer/arguments.js';
export {
  DEFAULT_CALLBACKS,
  type TrainerCallback,
  type TrainerCallbackClass,
} from './trainer/callbacks.js';
export { DefaultFlowCallback, TrainerControl } from './trainer/control.js';
export { EarlyStoppingCallback, type EarlyStoppingOptions } from './trainer/early-stopping.js';
export { LRScheduler, warmupStepsFor } from './trainer/scheduler.js';
export type { LogEntry, TrainerStateJSON } from './trainer/state.js';
export {
  type StepOutcome,
  type StepReplica,
  type StepRunner,
  stepRunnerFor,
} from './trainer/steps.js';
export {
  type ModelSource,
  type PredictionOutput,
  type PredictionProgress,
  type StepEvent,
  Trainer,
  type TrainerEvents,
  type TrainerOptions,
  TrainingInterrupted,
  type TrainOutput,
} from './trainer/trainer.js';
