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
export {
  encodeSafetensors,
  type NamedTensor,
  readSafetensors,
  type SafetensorsFile,
} from './checkpoint/safetensors.js';
export {
  type DeviceOption,
  type IntervalStrategy,
  type SchedulerType,
  TrainingArguments,
  TrainingArgumentsError,
  type TrainingArgumentsInit,
} from './trainer/arguments.js';
export { LRScheduler, warmupStepsFor } from './trainer/scheduler.js';
