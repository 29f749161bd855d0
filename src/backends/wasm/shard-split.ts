// Cuts a graph into maximal runs of consecutive ops on one shard (wasm memory), as runtime/segments.ts does per
// device (backends may not import runtime). Values from another run, and the graph's own `external` nodes, become
// `external` nodes of the run that reads them; weights, inputs and views of weights are re-created in every run
// that reads them, so a run never touches another memory.
import type { Graph, GraphNode, NodeSpec } from '../../graph/graph.ts';
import { isLeafLike } from './shard-plan.ts';

export interface ShardSegment {
  readonly shard: number;
  readonly graph: Graph;
  /** segment node id → node id in the whole graph whose value it receives (computed earlier or an external). */
  readonly externals: ReadonlyMap<number, number>;
  /** Values this segment hands on: node id in the whole graph → segment node id. */
  readonly outputs: ReadonlyMap<number, number>;
}

/** `shardOf`: per node (ShardPlanner.assign); `keep`: nodes whose values the caller reads back. */
export function splitByShard(g: Graph, shardOf: Int32Array, keep: readonly number[]): ShardSegment[] {
  const runs: GraphNode[][] = [];
  for (const n of g.nodes) {
    if (isLeafLike(g, n)) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && shardOf[last[0]!.id] === shardOf[n.id]) last.push(n);
    else runs.push([n]);
  }
  const segOf = new Map<number, number>();
  runs.forEach((r, i) => r.forEach((n) => segOf.set(n.id, i)));
  const handOn = runs.map(() => new Set<number>());
  for (const n of g.nodes) {
    const to = segOf.get(n.id);
    if (to === undefined) continue;
    for (const s of n.src) {
      const from = segOf.get(s);
      if (from !== undefined && from !== to) handOn[from]!.add(s);
    }
  }
  for (const k of keep) {
    const from = segOf.get(k);
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
      if (o.spec.op === 'weight' || o.spec.op === 'input') id = add(o.spec, [], o);
      else if (isLeafLike(g, o) && o.spec.op !== 'external') id = add(o.spec, o.src.map(ref), o); // a view of a weight
      else {
        id = add({ op: 'external' }, [], o);
        externals.set(id, s);
      }
      local.set(s, id);
      return id;
    };
    for (const n of run) local.set(n.id, add(n.spec, n.src.map(ref), n));
    const outputs = new Map([...handOn[i]!].map((o) => [o, local.get(o)!] as const));
    const last = run[run.length - 1]!;
    return { shard: shardOf[last.id]!, graph: { nodes, output: local.get(last.id)!, nTokens: g.nTokens }, externals, outputs };
  });
}
