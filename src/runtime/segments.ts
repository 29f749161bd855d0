// Cuts a graph into device segments for the hybrid runtime. Each segment becomes a graph of its own in which
// values from other segments are `external` nodes; it lists which of its values later segments need and which
// segments it waits for. Weights and inputs go with the segment that uses them (a weight leaf is recorded where
// its consumer runs), so a segment never reads another device's memory.
//
// With `overlap`, the order is chosen so both devices work at once (KTransformers: the GPU computes the shared
// experts while the CPU computes the routed ones): CPU nodes are emitted as soon as they are ready, GPU nodes by
// how soon the CPU needs them; a segment ends where the other device can start (a hand-off is complete) and is
// cut where a node would wait for another device's segment it did not wait for already. At an MoE layer this
// gives GPU (attention … router) → CPU (experts) ∥ GPU (shared experts) → GPU (add …); with expert deferral the
// deferred experts form their own CPU segment that runs beside the next layer's attention.
import type { Graph, GraphNode, NodeSpec } from '../graph/graph.ts';
import { cutRuns } from '../graph/subgraph.ts';

export type SegmentDevice = 'gpu' | 'cpu';

export interface Segment {
  readonly device: SegmentDevice;
  readonly graph: Graph;
  /** segment node id → original node id, for each external input. */
  readonly externals: ReadonlyMap<number, number>;
  /** Values this segment hands on: original node id → segment node id. */
  readonly outputs: ReadonlyMap<number, number>;
  /** Indices of the earlier segments whose values it reads. */
  readonly deps: readonly number[];
}

const LEAF = new Set<NodeSpec['op']>(['weight', 'input']);

/**
 * A topological order of the compute nodes for two devices at once: CPU nodes (the slow side: routed experts)
 * as soon as they are ready, GPU nodes by how soon the CPU needs them — urgency = position of the first node on
 * the other device that depends on it (∞: none) —, ties in graph order. With one device everywhere this is the
 * graph order.
 */
function overlapOrder(g: Graph, dev: readonly SegmentDevice[], compute: readonly GraphNode[], consumers: readonly number[][]): GraphNode[] {
  const urgency = new Array<number>(g.nodes.length).fill(Infinity);
  for (let i = compute.length - 1; i >= 0; i--) {
    const n = compute[i]!;
    let u = Infinity;
    for (const c of consumers[n.id]!) u = Math.min(u, dev[c] !== dev[n.id] ? c : urgency[c]!);
    urgency[n.id] = u;
  }
  const pending = new Map<number, number>(); // node → unmet compute sources
  const isCompute = new Set(compute.map((n) => n.id));
  const ready: GraphNode[] = [];
  for (const n of compute) {
    const k = n.src.filter((s) => isCompute.has(s)).length;
    if (k === 0) ready.push(n);
    else pending.set(n.id, k);
  }
  const out: GraphNode[] = [];
  while (ready.length > 0) {
    let best = 0;
    for (let i = 1; i < ready.length; i++) {
      const a = ready[i]!;
      const b = ready[best]!;
      const ca = dev[a.id] === 'cpu' ? 0 : 1;
      const cb = dev[b.id] === 'cpu' ? 0 : 1;
      if (ca < cb || (ca === cb && (urgency[a.id]! < urgency[b.id]! || (urgency[a.id] === urgency[b.id] && a.id < b.id)))) best = i;
    }
    const n = ready.splice(best, 1)[0]!;
    out.push(n);
    for (const c of new Set(consumers[n.id])) {
      const k = pending.get(c)! - 1;
      if (k === 0) {
        pending.delete(c);
        ready.push(g.nodes[c]!);
      } else pending.set(c, k);
    }
  }
  return out;
}

export function splitGraph(g: Graph, deviceOf: (n: GraphNode) => SegmentDevice, o: { overlap?: boolean } = {}): Segment[] {
  // Leaves take the device of their first consumer; everything else its own.
  const dev: SegmentDevice[] = [];
  for (const n of g.nodes) dev[n.id] = deviceOf(n);
  for (const n of g.nodes) for (const s of n.src) if (LEAF.has(g.nodes[s]!.spec.op) && g.nodes[s]!.id < n.id) dev[s] = dev[n.id]!;
  const compute = g.nodes.filter((n) => !LEAF.has(n.spec.op)); // leaves are re-created inside the segments that read them
  const consumers: number[][] = g.nodes.map(() => []);
  for (const n of compute) for (const s of n.src) consumers[s]!.push(n.id);
  const order = o.overlap === true ? overlapOrder(g, dev, compute, consumers) : compute;

  const runs: GraphNode[][] = [];
  const runDeps: Set<number>[] = [];
  const segOf = new Map<number, number>();
  let handOffReady = false;
  for (const n of order) {
    const cur = runs.length - 1;
    const srcSegs = new Set(n.src.flatMap((s) => (segOf.has(s) ? [segOf.get(s)!] : [])));
    // Joining the current run would make all of it wait for another device's segment it does not wait for yet.
    const newWait = [...srcSegs].some((s) => s !== cur && runs[s]![0] !== undefined && dev[runs[s]![0]!.id] !== dev[n.id] && !runDeps[cur]!.has(s));
    if (cur < 0 || dev[runs[cur]![0]!.id] !== dev[n.id] || (o.overlap === true && (newWait || handOffReady))) {
      runs.push([]);
      runDeps.push(new Set());
    }
    const i = runs.length - 1;
    runs[i]!.push(n);
    segOf.set(n.id, i);
    for (const s of srcSegs) if (s !== i) runDeps[i]!.add(s);
    // Once a node of the other device has everything it needs from this device, end the segment here so the
    // other device can start (e.g. the immediate experts' sum, before the deferred experts).
    handOffReady = consumers[n.id]!.some((c) => dev[c] !== dev[n.id] && g.nodes[c]!.src.every((s) => LEAF.has(g.nodes[s]!.spec.op) || dev[s] === dev[c] || segOf.has(s)));
  }
  return cutRuns(g, runs, (n) => LEAF.has(n.spec.op), [g.output]).map((sub, i) => {
    const run = runs[i]!;
    return { device: dev[run[run.length - 1]!.id]!, deps: [...runDeps[i]!].sort((a, b) => a - b), ...sub };
  });
}
