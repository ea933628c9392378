import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * onnxruntime-node returns every output in a new JS buffer, even one written into a pre-allocated tensor, so
 * each CPU step through its sessions (the fallback where the C API does not load, see DirectSession) leaves a
 * copy of the whole updated state (1.3 GB for BERT-base) as garbage that V8 frees only at its next full
 * collection: until then it counts in the process's memory. Above this many bytes of state written per run,
 * the run is followed by a full collection (tens of milliseconds against seconds per step).
 */
export const RELEASE_ABOVE_BYTES = 256 * 2 ** 20;

let gc: (() => void) | undefined;

/**
 * A full garbage collection now. V8's `gc` is exposed at run time the way jest's leak detector does it (the
 * flag, then a fresh context that sees it); `node --expose-gc` gives the same function directly.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gc = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    }
  }
  gc();
}
