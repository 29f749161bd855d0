// What bounds CPU-side decode speed: the weight bytes the CPU streams per token (the roofline of `ktweb bench`
// divides the measured DRAM bandwidth by it).
import type { Graph, GraphNode } from '../graph/graph.ts';

/**
 * Weight bytes the CPU reads for one decode token: of the routed experts n_used of n_expert per layer, of an
 * embedding table one row, of every other CPU-placed weight all of it.
 */
export function cpuBytesPerToken(g: Graph, onCpu: (n: GraphNode) => boolean, bytesOf: (name: string) => number): number {
  const share = new Map<string, number>();
  for (const n of g.nodes) {
    if (!onCpu(n)) continue;
    n.src.forEach((s, i) => {
      const w = g.nodes[s]!;
      if (w.spec.op !== 'weight') return;
      let f = 1;
      if (n.spec.op === 'moe_experts') f = n.spec.nUsed / w.shape[2]!;
      else if (n.spec.op === 'get_rows' && i === 0) f = g.nTokens / w.shape[1]!;
      share.set(w.spec.name, Math.max(share.get(w.spec.name) ?? 0, f));
    });
  }
  let total = 0;
  for (const [name, f] of share) total += bytesOf(name) * f;
  return total;
}
