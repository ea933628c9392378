export { type FileContent, writeDirAtomic } from '@ortrain/artifacts';
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
export { type StateArray, StateBuffers } from './runtime/buffers.js';
export { type Device, type ProviderChoice, type SessionConfig, selectProvider } from './runtime/device.js';
export { type EvalResult, Replica, type ReplicaOptions, type StepResult } from './runtime/replica.js';
export {
  type DeviceOption,
  type IntervalStrategy,
  type SchedulerType,
  TrainingArguments,
  TrainingArgumentsError,
  type TrainingArgumentsInit,
} from './trainer/arguments.js';
export {
  COMPILED_DIR,
  compileOptionsFor,
  downloadHubModel,
  HUB_PROBE_TIMEOUT_MS,
  isHubId,
  type ModelSource,
} from './trainer/model.js';
export { LRScheduler, warmupStepsFor } from './trainer/scheduler.js';
export type { LogEntry, TrainerStateJSON } from './trainer/state.js';
export {
  type PredictionOutput,
  type StepEvent,
  Trainer,
  type TrainerEvents,
  type TrainerOptions,
  TrainingInterrupted,
  type TrainOutput,
} from './trainer/trainer.js';
