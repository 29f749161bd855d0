// Cuts a graph into device segments for the hybrid runtime: maximal runs of consecutive nodes placed on the
// same device. Each segment becomes a graph of its own in which values from other segments are `external`
// nodes; it lists which of its values later segments need. Weights and inputs go with the segment that uses
// them (a weight leaf is recorded where its consumer runs), so a segment never reads another device's memory.
import type { Graph, GraphNode, NodeSpec } from '../graph/graph.ts';

export type SegmentDevice = 'gpu' | 'cpu';

export interface Segment {
  readonly device: SegmentDevice;
  readonly graph: Graph;
  /** segment node id → original node id, for each external input. */
  readonly externals: ReadonlyMap<number, number>;
  /** Values this segment hands on: original node id → segment node id. */
  readonly outputs: ReadonlyMap<number, number>;
}

const LEAF = new Set<NodeSpec['op']>(['weight', 'input']);

export function splitGraph(g: Graph, deviceOf: (n: GraphNode) => SegmentDevice): Segment[] {
  // Leaves take the device of their first consumer; everything else its own.
  const dev: SegmentDevice[] = [];
  for (const n of g.nodes) dev[n.id] = deviceOf(n);
  for (const n of g.nodes) for (const s of n.src) if (LEAF.has(g.nodes[s]!.spec.op) && g.nodes[s]!.id < n.id) dev[s] = dev[n.id]!;
  const runs: GraphNode[][] = [];
  for (const n of g.nodes) {
    if (LEAF.has(n.spec.op)) continue; // leaves are re-created inside the segments that read them
    const last = runs[runs.length - 1];
    if (last !== undefined && dev[last[0]!.id] === dev[n.id]) last.push(n);
    else runs.push([n]);
  }
  const segOf = new Map<number, number>();
  runs.forEach((r, i) => r.forEach((n) => segOf.set(n.id, i)));
  // Which values each segment must hand on: read by a later segment, or the graph's output.
  const handOn = runs.map(() => new Set<number>());
  for (const n of g.nodes) {
    for (const s of n.src) {
      const from = segOf.get(s);
      if (from !== undefined && from !== segOf.get(n.id)) handOn[from]!.add(s);
    }
  }
  handOn[segOf.get(g.output)!]!.add(g.output);

  return runs.map((run, i) => {
    const nodes: GraphNode[] = [];
    const local = new Map<number, number>();
    const externals = new Map<number, number>();
    const add = (spec: NodeSpec, src: number[], orig: GraphNode): number => {
      const id = nodes.length;
      nodes.push({ id, spec, src, shape: orig.shape, module: orig.module });
      return id;
    };
    const ref = (s: number): number => {
      const have = local.get(s);
      if (have !== undefined) return have;
      const o = g.nodes[s]!;
      const id = LEAF.has(o.spec.op) ? add(o.spec, [], o) : add({ op: 'external' }, [], o);
      if (!LEAF.has(o.spec.op)) externals.set(id, s);
      local.set(s, id);
      return id;
    };
    for (const n of run) local.set(n.id, add(n.spec, n.src.map(ref), n));
    const outputs = new Map([...handOn[i]!].map((o) => [o, local.get(o)!] as const));
    const last = run[run.length - 1]!;
    return { device: dev[last.id]!, graph: { nodes, output: local.get(last.id)!, nTokens: g.nTokens }, externals, outputs };
  });
}
