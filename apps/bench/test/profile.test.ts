import { describe, expect, it } from 'vitest';
import { summarizeProfile, type TraceEvent } from '../src/profile.js';

const run = (ts: number, dur: number): TraceEvent => ({ cat: 'Session', name: 'model_run', ts, dur });
const kernel = (node: string, op: string, ts: number, dur: number): TraceEvent => ({
  cat: 'Node',
  name: `${node}_kernel_time`,
  ts,
  dur,
  args: { op_name: op },
});

describe('summarizeProfile', () => {
  const events: TraceEvent[] = [
    { cat: 'Session', name: 'session_initialization', ts: 0, dur: 50 },
    run(100, 1000), // warm-up run: ignored
    kernel('a', 'MatMul', 110, 900),
    run(2000, 1000),
    kernel('a', 'MatMul', 2010, 400),
    { cat: 'Node', name: 'a_fence_before', ts: 2010, dur: 0, args: { op_name: 'MatMul' } },
    kernel('b', 'MatMul', 2500, 200),
    kernel('c', 'Add', 2700, 100),
    kernel('c', 'Add', 2800, 300), // a node run twice (e.g. inside a Loop) adds up
    kernel('/optimizer/w/Sub', 'Sub', 2900, 50),
  ];

  it('aggregates the last run’s kernel times by op type and by node, slowest first', () => {
    const s = summarizeProfile(events);
    expect(s.ortRunMs).toBe(1);
    expect(s.kernelMs).toBeCloseTo(1.05);
    expect(s.byOp.map((o) => [o.op, o.ms, o.count])).toEqual([
      ['MatMul', 0.6, 2],
      ['Add', 0.4, 2],
      ['Sub', 0.05, 1],
    ]);
    expect(s.byOp[0]!.share).toBeCloseTo(0.6 / 1.05);
    expect(s.phases.matmulMs).toBeCloseTo(0.6);
    expect(s.phases.optimizerMs).toBeCloseTo(0.05);
    expect(s.phases.otherMs).toBeCloseTo(0.4);
    expect(s.topNodes).toEqual([
      { node: 'a', op: 'MatMul', ms: 0.4 },
      { node: 'c', op: 'Add', ms: 0.4 },
      { node: 'b', op: 'MatMul', ms: 0.2 },
      { node: '/optimizer/w/Sub', op: 'Sub', ms: 0.05 },
    ]);
  });

  it('says what is missing', () => {
    expect(() => summarizeProfile([kernel('a', 'MatMul', 0, 1)])).toThrow(/no model_run/);
    expect(() => summarizeProfile([run(0, 10)])).toThrow(/no kernel events/);
  });
});
