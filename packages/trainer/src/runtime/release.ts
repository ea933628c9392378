import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * onnxruntime-node returns every output in a new JS buffer, even one written into a pre-allocated tensor, so
 * each CPU step leaves a copy of the whole updated state (1.3 GB for BERT-base) as garbage that V8 frees only
 * at its next full collection: until then it counts in the process's memory. Above this many bytes of state
 * written per run, the run is followed by a full collection (tens of milliseconds against seconds per step).
 */
export const RELEASE_ABOVE_BYTES = 256 * 2 ** 20;

/**
 * glibc's malloc returns blocks over 32 MiB (and, on trimming, the heap's free top) to the kernel, so the
 * binding's fresh copies of a large state fault in new pages on every step (0.8 ms per MB measured for
 * BERT-base's 94 MB embedding tables). Started with GLIBC_TUNABLES set to this, a process keeps reusing its
 * heap instead: BERT-base steps 2 to 12% faster at the same peak RSS (`pnpm bench`). It must be in the
 * environment before the process starts; other C libraries ignore it.
 */
export const GLIBC_MALLOC_TUNABLES = 'glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967296';

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
