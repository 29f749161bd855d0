// Cuts a graph into maximal runs of consecutive ops on one shard (wasm memory), as runtime/segments.ts does per
// device; graph/subgraph.ts makes the runs' graphs for both. Values from another run, and the graph's own `external` nodes, become
// `external` nodes of the run that reads them; weights, inputs and views of weights are re-created in every run
// that reads them, so a run never touches another memory.
import type { Graph, GraphNode } from '../../graph/graph.ts';
import { cutRuns } from '../../graph/subgraph.ts';
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
  // weights, inputs and views of weights are re-created; the graph's own `external` nodes are handed in
  return cutRuns(g, runs, (n) => isLeafLike(g, n) && n.spec.op !== 'external', keep).map((sub, i) => ({ shard: shardOf[runs[i]![0]!.id]!, ...sub }));
}
