/**
 * Mixed precision, the trainer's side. The compiled graphs compute in half precision, keep fp16's loss scale
 * as state and skip an overflowing step themselves (see MixedPrecisionInfo in @ortrain/artifacts); what is left
 * here is where each precision may run and how a skipped step counts: as with HF's Trainer and GradScaler,
 * global_step counts it, while neither the scheduler nor AdamW's step count (its bias correction) advances.
 */
import type { Device } from '../runtime/device.js';
import type { TrainingArguments } from './arguments.js';

/**
 * Refuses bf16 where ONNX Runtime has no kernels for it; returns a note to show when fp16 is chosen on CPU.
 * ONNX Runtime 1.30's CPU EP lacks a bfloat16 MatMul and the Node binding refuses bfloat16 graph inputs and
 * outputs, so bf16 lives only inside the graphs and needs a GPU EP whose kernels cover it (CUDA has them for
 * MatMul on Ampere and newer; untested here).
 */
export function checkPrecisionDevice(args: TrainingArguments, device: Device): string | undefined {
  if (args.bf16 && device === 'cpu') {
    throw new Error(
      'TrainingArguments.bf16: the cpu device has no bfloat16 MatMul kernel in ONNX Runtime; use fp16, or a ' +
        'CUDA device (--device cuda) whose GPU supports bfloat16',
    );
  }
  if (args.fp16 && device === 'cpu') {
    return 'fp16 on CPU: it runs, but slower than float32 (1.8x per step on a 4x256 BERT in pnpm bench) and with no memory saving, since ONNX Runtime computes most float16 work on CPU through float32; it is meant for GPUs';
  }
  return undefined;
}
