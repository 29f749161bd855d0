// Runs a graph across two executors (GPU and CPU) by device segments: each segment executes on its device, and
// only the values other segments need cross over (for the MoE split: the normed hidden state and the router's
// ids/weights go to the CPU, the experts' output comes back). Segments run as soon as the values they read are
// there and their device is free, so with `overlap` the GPU computes the shared experts while the CPU computes
// the routed ones. Graph splits are cached per graph.
import { EngineError } from '../core/errors.ts';
import type { GraphExecutor, RunInputs } from '../graph/executor.ts';
import type { Graph, GraphNode } from '../graph/graph.ts';
import { splitGraph, type Segment, type SegmentDevice } from './segments.ts';
import { withRepeatPenalty } from './sampler.ts';
import type { TopKExecutor, TopKOptions } from './session.ts';

export interface HybridStats {
  /** Wall time of the last run (ms). */
  wallMs: number;
  /** Time each device spent running segments in the last run (ms; includes its dispatch and read-back). */
  gpuMs: number;
  cpuMs: number;
  /** Time both devices were busy at once. */
  overlapMs: number;
  /** Segments run in the last run. */
  segments: number;
}

export interface HybridOptions {
  /** Run independent GPU work (shared experts) while the CPU computes the routed experts. */
  readonly overlap?: boolean;
}

type Values = Map<number, Float32Array>;

export class HybridExecutor implements GraphExecutor {
  private readonly splits = new WeakMap<Graph, Segment[]>();
  readonly stats: HybridStats = { wallMs: 0, gpuMs: 0, cpuMs: 0, overlapMs: 0, segments: 0 };

  constructor(
    readonly executors: Readonly<Record<SegmentDevice, GraphExecutor>>,
    private readonly deviceOf: (n: GraphNode, nTokens: number) => SegmentDevice,
    private readonly o: HybridOptions = {},
  ) {}

  segments(g: Graph): Segment[] {
    let s = this.splits.get(g);
    if (s === undefined) {
      s = splitGraph(g, (n) => this.deviceOf(n, g.nTokens), { overlap: this.o.overlap === true });
      this.splits.set(g, s);
    }
    return s;
  }

  resetCache(): void {
    this.executors.gpu.resetCache();
    this.executors.cpu.resetCache();
  }

  async dispose(): Promise<void> {
    await this.executors.gpu.dispose?.();
    await this.executors.cpu.dispose?.();
  }

  /**
   * Runs the segments, each device's in order, each starting when the segments it reads from are done; the one
   * holding the graph's output runs through `last`, whose result is returned.
   */
  private async runSegments<T>(g: Graph, inputs: RunInputs, last: (seg: Segment, ex: GraphExecutor, inputs: RunInputs) => Promise<T>): Promise<T> {
    const segs = this.segments(g);
    const outSeg = segs.findIndex((s) => s.outputs.has(g.output));
    const values: Values = new Map();
    const busy: Record<SegmentDevice, [number, number][]> = { gpu: [], cpu: [] };
    const done: Promise<unknown>[] = [];
    const lastOn: Partial<Record<SegmentDevice, Promise<unknown>>> = {};
    const t0 = performance.now();
    let result: T | undefined;
    segs.forEach((seg, i) => {
      const ex = this.executors[seg.device];
      const waits = [...seg.deps.map((d) => done[d]!), lastOn[seg.device] ?? Promise.resolve()];
      const p = Promise.all(waits).then(async () => {
        const externals = new Map<number, Float32Array>();
        for (const [local, orig] of seg.externals) externals.set(local, values.get(orig)!);
        const segInputs = { ...inputs, externals };
        const start = performance.now();
        if (i === outSeg) {
          result = await last(seg, ex, segInputs);
        } else {
          if (ex.runMany === undefined) throw new EngineError('bad_argument', `the ${seg.device} executor cannot run graph segments`);
          const outs = [...seg.outputs];
          const res = await ex.runMany(seg.graph, segInputs, outs.map(([, l]) => l));
          outs.forEach(([orig], k) => values.set(orig, res[k]!));
        }
        busy[seg.device].push([start, performance.now()]);
      });
      done.push(p);
      lastOn[seg.device] = p;
    });
    // Wait for everything (a failed segment must not leave another still running on its device).
    const settled = await Promise.allSettled(done);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    this.recordStats(performance.now() - t0, busy, segs.length);
    return result as T;
  }

  private recordStats(wallMs: number, busy: Record<SegmentDevice, [number, number][]>, segments: number): void {
    const sum = (iv: [number, number][]): number => iv.reduce((a, [s, e]) => a + e - s, 0);
    let overlap = 0;
    for (const [gs, ge] of busy.gpu) for (const [cs, ce] of busy.cpu) overlap += Math.max(0, Math.min(ge, ce) - Math.max(gs, cs));
    Object.assign(this.stats, { wallMs, gpuMs: sum(busy.gpu), cpuMs: sum(busy.cpu), overlapMs: overlap, segments });
  }

  run(g: Graph, inputs: RunInputs): Promise<Float32Array> {
    return this.runSegments(g, inputs, (seg, ex, segInputs) => ex.run(seg.graph, segInputs));
  }

  /** On the device of the last segment (lm_head) when it can cut the logits there, else on the host. */
  runTopK(g: Graph, inputs: RunInputs, o: TopKOptions): Promise<{ ids: Int32Array; logits: Float32Array }> {
    return this.runSegments(g, inputs, async (seg, ex, segInputs) => {
      const tk = ex as Partial<TopKExecutor>;
      if (tk.runTopK !== undefined) return tk.runTopK.call(ex, seg.graph, segInputs, o);
      return topKOnHost(await ex.run(seg.graph, segInputs), o);
    });
  }
}

/** The k best logits (after llama.cpp's repeat penalty), sorted descending, ties by lower id: the sampler's order. */
export function topKOnHost(logits: Float32Array, o: TopKOptions): { ids: Int32Array; logits: Float32Array } {
  const l = withRepeatPenalty(logits, o.penaltyIds, o.penalty);
  const idx = Array.from(l.keys()).sort((a, b) => l[b]! - l[a]! || a - b).slice(0, o.k);
  return { ids: Int32Array.from(idx), logits: Float32Array.from(idx, (i) => l[i]!) };
}
