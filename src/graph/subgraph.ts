// Cutting a graph into runs that execute apart (the hybrid runtime's device segments, the WASM backend's memory
// shards): each run becomes a graph of its own in which values computed by other runs are `external` nodes, and
// the leaves it reads (weights, inputs, views of weights) are re-created, so a run never reads another run's memory.
import type { Graph, GraphNode, NodeSpec } from './graph.ts';

export interface SubGraph {
  readonly graph: Graph;
  /** subgraph node id → node id in the whole graph whose value it receives. */
  readonly externals: ReadonlyMap<number, number>;
  /** Values the run hands on (read by another run, or kept): whole-graph node id → subgraph node id. */
  readonly outputs: ReadonlyMap<number, number>;
}

/**
 * `runs`: the compute nodes, in an order where every source comes first; `leaf`: nodes re-created in every run
 * that reads them (with their own sources) instead of being handed over; `keep`: values the caller reads back.
 * A subgraph's output is the whole graph's output where it holds it, else its last node.
 */
export function cutRuns(g: Graph, runs: readonly (readonly GraphNode[])[], leaf: (n: GraphNode) => boolean, keep: readonly number[]): SubGraph[] {
  const runOf = new Map<number, number>();
  runs.forEach((r, i) => r.forEach((n) => runOf.set(n.id, i)));
  const handOn = runs.map(() => new Set<number>());
  runs.forEach((r, i) => {
    for (const n of r) {
      for (const s of n.src) {
        const from = runOf.get(s);
        if (from !== undefined && from !== i) handOn[from]!.add(s);
      }
    }
  });
  for (const k of keep) {
    const from = runOf.get(k);
    if (from !== undefined) handOn[from]!.add(k);
  }
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
      let id: number;
      if (leaf(o)) id = add(o.spec, o.src.map(ref), o);
      else {
        id = add({ op: 'external' }, [], o);
        externals.set(id, s);
      }
      local.set(s, id);
      return id;
    };
    for (const n of run) local.set(n.id, add(n.spec, n.src.map(ref), n));
    const outputs = new Map([...handOn[i]!].map((o) => [o, local.get(o)!] as const));
    const output = local.get(g.output) ?? local.get(run[run.length - 1]!.id)!;
    return { graph: { nodes, output, nTokens: g.nTokens }, externals, outputs };
  });
}
