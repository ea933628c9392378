export { type FileContent, writeDirAtomic, writeFileAtomic } from '@ortrain/artifacts';
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
export { type DevicePlan, parseDevices } from './parallel/devices.js';
export { ReplicaGroup } from './parallel/replica-group.js';
export { type StateArray, StateBuffers } from './runtime/buffers.js';
export {
  type Device,
  type ProviderChoice,
  type SessionConfig,
  selectProvider,
  softwareAdapter,
} from './runtime/device.js';
export { bindingSession, DirectSession, type GraphSession } from './runtime/direct-session.js';
export { cApiUnavailable } from './runtime/ort-c-api.js';
export {
  type EvalResult,
  Replica,
  type ReplicaOptions,
  type SessionKind,
  type StepResult,
} from './runtime/replica.js';
export {
  type ArgumentGroup,
  type ArgumentSpec,
  type ArgumentType,
  type ArgumentValue,
  accepts,
  atLeast,
  DEVICE_OPTIONS,
  type DeviceOption,
  expectation,
  greaterThan,
  HUB_STRATEGIES,
  type HubStrategy,
  halfOpen,
  INTERVAL_STRATEGIES,
  type IntervalStrategy,
  type JsonObject,
  type NumberCheck,
  REPORT_TO,
  type ReportTo,
  renderRefs,
  SCHEDULER_TYPES,
  type SchedulerType,
  TRAINING_ARGUMENT_SPECS,
  type TrainingArgumentKey,
  type TrainingArgumentValues,
  type ValueOfSpec,
  within,
} from './trainer/argument-spec.js';
export {
  finishArguments,
  reportsTo,
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
export {
  COMPILED_DIR,
  compileOptionsFor,
  downloadHubModel,
  HUB_PROBE_TIMEOUT_MS,
  isHubId,
  type ModelSource,
} from './trainer/model.js';
export {
  LRScheduler,
  type PlateauState,
  type SchedulerKwargs,
  schedulerKwargsError,
  warmupStepsFor,
} from './trainer/scheduler.js';
export type { LogEntry, TrainerStateJSON } from './trainer/state.js';
export {
  type StepOutcome,
  type StepReplica,
  type StepRunner,
  stepRunnerFor,
} from './trainer/steps.js';
export { isStreamed, type StreamedDataset } from './trainer/streamed.js';
export {
  type EvalDataset,
  type PredictionOutput,
  type PredictionProgress,
  type StepEvent,
  Trainer,
  type TrainerEvents,
  type TrainerOptions,
  TrainingInterrupted,
  type TrainOutput,
} from './trainer/trainer.js';
