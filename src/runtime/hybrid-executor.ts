// Runs a graph across two executors (GPU and CPU) by device segments: each segment executes on its device,
// and only the values the next segments need cross over (for the MoE split: the normed hidden state and the
// router's ids/weights go to the CPU, the experts' output comes back). Graph splits are cached per graph.
import { EngineError } from '../core/errors.ts';
import type { GraphExecutor, RunInputs } from '../graph/executor.ts';
import type { Graph, GraphNode } from '../graph/graph.ts';
import { splitGraph, type Segment, type SegmentDevice } from './segments.ts';

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
    private readonly executors: Readonly<Record<SegmentDevice, GraphExecutor>>,
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

  async run(g: Graph, inputs: RunInputs): Promise<Float32Array> {
    const values = new Map<number, Float32Array>();
    this.stats.gpuMs = this.stats.cpuMs = this.stats.handoffs = 0;
    for (const seg of this.segments(g)) {
      const ex = this.executors[seg.device];
      const externals = new Map<number, Float32Array>();
      for (const [local, orig] of seg.externals) externals.set(local, values.get(orig)!);
      const outs = [...seg.outputs];
      if (ex.runMany === undefined) throw new EngineError('bad_argument', `the ${seg.device} executor cannot run graph segments`);
      const t0 = performance.now();
      const res = await ex.runMany(seg.graph, { ...inputs, externals }, outs.map(([, l]) => l));
      this.stats[seg.device === 'gpu' ? 'gpuMs' : 'cpuMs'] += performance.now() - t0;
      outs.forEach(([orig], i) => values.set(orig, res[i]!));
      this.stats.handoffs++;
    }
    return values.get(g.output)!;
  }
}
