/** Aggregates ONNX Runtime's profiler output (Chrome trace JSON) into per-op-type and per-node kernel time. */

export interface TraceEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

export interface OpTime {
  op: string;
  ms: number;
  /** Share of all kernel time in the run. */
  share: number;
  /** Kernel launches of this op type in the run. */
  count: number;
}

/** Where kernel time goes: matrix products, the optimizer (clipping + AdamW), everything else. */
export interface PhaseTimes {
  matmulMs: number;
  optimizerMs: number;
  otherMs: number;
}

export interface ProfileSummary {
  /** ONNX Runtime's own time for the run (model_run); the caller's wall time minus this is the binding's. */
  ortRunMs: number;
  kernelMs: number;
  phases: PhaseTimes;
  byOp: OpTime[];
  topNodes: { node: string; op: string; ms: number }[];
}

const KERNEL = '_kernel_time';
const MATMUL = new Set(['MatMul', 'FusedMatMul', 'Gemm']);
/** Node-name prefix of the optimizer subgraph (@ortrain/artifacts names its nodes `/optimizer/...`). */
const OPTIMIZER = '/optimizer/';

/** The phase a kernel event belongs to: the optimizer by node name, then matrix products by op type. */
export function kernelPhase(e: TraceEvent): keyof PhaseTimes {
  if (e.name.startsWith(OPTIMIZER)) return 'optimizerMs';
  return MATMUL.has(e.args?.op_name ?? '') ? 'matmulMs' : 'otherMs';
}

/** Summarizes the last `model_run` of a profile (earlier ones are warm-up), microseconds to milliseconds. */
export function summarizeProfile(events: readonly TraceEvent[], topN = 15): ProfileSummary {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const last = runs[runs.length - 1];
  if (!last) throw new Error('the profile has no model_run event (was the session run with profiling on?)');
  const kernels = events.filter(
    (e) => e.cat === 'Node' && e.name.endsWith(KERNEL) && e.ts >= last.ts && e.ts <= last.ts + last.dur,
  );
  if (kernels.length === 0) throw new Error('the last model_run has no kernel events');
  const byOp = new Map<string, { us: number; count: number }>();
  const byNode = new Map<string, { op: string; us: number }>();
  let totalUs = 0;
  const phases: PhaseTimes = { matmulMs: 0, optimizerMs: 0, otherMs: 0 };
  for (const e of kernels) {
    const op = e.args?.op_name ?? '?';
    phases[kernelPhase(e)] += e.dur / 1000;
    const o = byOp.get(op) ?? { us: 0, count: 0 };
    o.us += e.dur;
    o.count++;
    byOp.set(op, o);
    const node = e.name.slice(0, -KERNEL.length);
    const n = byNode.get(node) ?? { op, us: 0 };
    n.us += e.dur;
    byNode.set(node, n);
    totalUs += e.dur;
  }
  return {
    ortRunMs: last.dur / 1000,
    kernelMs: totalUs / 1000,
    phases,
    byOp: [...byOp]
      .map(([op, o]) => ({ op, ms: o.us / 1000, share: o.us / totalUs, count: o.count }))
      .sort((x, y) => y.ms - x.ms),
    topNodes: [...byNode]
      .map(([node, n]) => ({ node, op: n.op, ms: n.us / 1000 }))
      .sort((x, y) => y.ms - x.ms)
      .slice(0, topN),
  };
}
