// Runs a graph across two executors (GPU and CPU) by device segments: each segment executes on its device,
// and only the values the next segments need cross over (for the MoE split: the normed hidden state and the
// router's ids/weights go to the CPU, the experts' output comes back). Graph splits are cached per graph.
import { EngineError } from '../core/errors.ts';
import type { GraphExecutor, RunInputs } from '../graph/executor.ts';
import type { Graph, GraphNode } from '../graph/graph.ts';
import { splitGraph, type Segment, type SegmentDevice } from './segments.ts';
import type { TopKExecutor, TopKOptions } from './session.ts';

export interface HybridStats {
  /** Milliseconds spent per device in the last run, and the number of hand-offs. */
  gpuMs: number;
  cpuMs: number;
  handoffs: number;
}

export class HybridExecutor implements GraphExecutor {
  private readonly splits = new WeakMap<Graph, Segment[]>();
  readonly stats: HybridStats = { gpuMs: 0, cpuMs: 0, handoffs: 0 };

  constructor(
    readonly executors: Readonly<Record<SegmentDevice, GraphExecutor>>,
    private readonly deviceOf: (n: GraphNode, nTokens: number) => SegmentDevice,
  ) {}

  segments(g: Graph): Segment[] {
    let s = this.splits.get(g);
    if (s === undefined) {
      s = splitGraph(g, (n) => this.deviceOf(n, g.nTokens));
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

  /** Runs every segment but the last; returns the hand-on values and the last segment with its inputs. */
  private async runPrefix(g: Graph, inputs: RunInputs): Promise<{ last: Segment; lastInputs: RunInputs; values: Map<number, Float32Array> }> {
    const values = new Map<number, Float32Array>();
    this.stats.gpuMs = this.stats.cpuMs = this.stats.handoffs = 0;
    const segs = this.segments(g);
    const withExternals = (seg: Segment): RunInputs => {
      const externals = new Map<number, Float32Array>();
      for (const [local, orig] of seg.externals) externals.set(local, values.get(orig)!);
      return { ...inputs, externals };
    };
    for (const seg of segs.slice(0, -1)) {
      const ex = this.executors[seg.device];
      const outs = [...seg.outputs];
      if (ex.runMany === undefined) throw new EngineError('bad_argument', `the ${seg.device} executor cannot run graph segments`);
      const t0 = performance.now();
      const res = await ex.runMany(seg.graph, withExternals(seg), outs.map(([, l]) => l));
      this.stats[seg.device === 'gpu' ? 'gpuMs' : 'cpuMs'] += performance.now() - t0;
      outs.forEach(([orig], i) => values.set(orig, res[i]!));
      this.stats.handoffs++;
    }
    const last = segs[segs.length - 1]!;
    return { last, lastInputs: withExternals(last), values };
  }

  private async timed<T>(device: SegmentDevice, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const r = await f();
    this.stats[device === 'gpu' ? 'gpuMs' : 'cpuMs'] += performance.now() - t0;
    return r;
  }

  async run(g: Graph, inputs: RunInputs): Promise<Float32Array> {
    const { last, lastInputs } = await this.runPrefix(g, inputs);
    return this.timed(last.device, () => this.executors[last.device].run(last.graph, lastInputs));
  }

  /** On the device of the last segment (lm_head) when it can cut the logits there, else on the host. */
  async runTopK(g: Graph, inputs: RunInputs, o: TopKOptions): Promise<{ ids: Int32Array; logits: Float32Array }> {
    const { last, lastInputs } = await this.runPrefix(g, inputs);
    const ex = this.executors[last.device] as Partial<TopKExecutor>;
    if (ex.runTopK !== undefined) return this.timed(last.device, () => ex.runTopK!.call(ex, last.graph, lastInputs, o));
    const logits = await this.timed(last.device, () => this.executors[last.device].run(last.graph, lastInputs));
    return topKOnHost(logits, o);
  }
}

/** The k best logits (after llama.cpp's repeat penalty), sorted descending, ties by lower id: the sampler's order. */
export function topKOnHost(logits: Float32Array, o: TopKOptions): { ids: Int32Array; logits: Float32Array } {
  const l = o.penaltyIds !== undefined && o.penalty !== undefined && o.penalty !== 1 ? logits.slice() : logits;
  if (l !== logits) for (const t of new Set(o.penaltyIds)) l[t] = l[t]! > 0 ? l[t]! / o.penalty! : l[t]! * o.penalty!;
  const idx = Array.from(l.keys()).sort((a, b) => l[b]! - l[a]! || a - b).slice(0, o.k);
  return { ids: Int32Array.from(idx), logits: Float32Array.from(idx, (i) => l[i]!) };
}
