// Which wasm memory (shard) each weight lives in and each op runs in, when a model's CPU weights exceed one wasm32
// memory. An op runs in the shard that holds its weights (all of them: an op cannot read two memories); an op
// without weights stays in the shard of the op before it, so graph order gives long runs per shard and only the
// activations at a run's ends cross over. Attention is pinned per layer (its KV cache lives in one memory).
// Weights are assigned when first seen, in graph order, filling a shard up to its byte cap before opening the
// next; the decision for an op is taken after reading its first weight (bytes per element of the others estimated
// from it), so loading holds at most one tensor in the JS heap.
import { EngineError } from '../../core/errors.ts';
import type { Graph, GraphNode } from '../../graph/graph.ts';
import { weightOfNode } from './compile.ts';

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Leaves and views of weights: re-created in every segment that reads them, never computed. */
export function isLeafLike(g: Graph, n: GraphNode): boolean {
  const op = n.spec.op;
  return op === 'weight' || op === 'input' || op === 'external' || ((op === 'reshape' || op === 'get_last') && weightOfNode(g, n.id) !== undefined);
}

export interface ShardIo {
  /** Bytes `name` will take in wasm memory (it may read the weight; the next `place` of that name uses the read). */
  measure(name: string): Promise<number>;
  /** Puts `name` into `shard`; resolves to the bytes it took. */
  place(name: string, shard: number): Promise<number>;
}

export class ShardPlanner {
  private readonly weightShard = new Map<string, number>();
  private readonly attnShard = new Map<number, number>();
  private last = 0;
  /** Bytes assigned per shard (weights and KV caches). */
  readonly used: number[] = [];

  constructor(
    /** Bytes one shard takes before the next opens. */
    readonly cap: number,
    readonly nCtx: number,
  ) {}

  get shards(): number {
    return this.used.length;
  }

  shardOfWeight(name: string): number | undefined {
    return this.weightShard.get(name);
  }

  private open(shard: number): number {
    while (this.used.length <= shard) this.used.push(0);
    return shard;
  }

  /** Shard per node of g (-1 for leaves and weight views); assigns and places the weights g reads first. */
  async assign(g: Graph, io: ShardIo): Promise<Int32Array> {
    const out = new Int32Array(g.nodes.length).fill(-1);
    const shapes = new Map(g.nodes.flatMap((n) => (n.spec.op === 'weight' ? [[n.spec.name, n.shape] as const] : [])));
    // where the previous graph ended: segment graphs loaded one after the other continue in the same memory
    let cur = this.last;
    for (const n of g.nodes) {
      if (isLeafLike(g, n)) continue;
      const names = [...new Set(n.src.map((s) => weightOfNode(g, s)).filter((w): w is string => w !== undefined))];
      const have = [...new Set(names.flatMap((w) => (this.weightShard.has(w) ? [this.weightShard.get(w)!] : [])))];
      if (have.length > 1) {
        throw new EngineError('model_invalid', `${n.module}: its weights ${names.join(', ')} were placed in different wasm memories (${have.join(', ')}); load the full model graph first`);
      }
      const fresh = names.filter((w) => !this.weightShard.has(w));
      let shard = have[0] ?? cur;
      if (fresh.length > 0) {
        const first = await io.measure(fresh[0]!);
        const perElem = first / numel(shapes.get(fresh[0]!)!);
        const estimate = first + fresh.slice(1).reduce((a, w) => a + numel(shapes.get(w)!) * perElem, 0);
        if (have.length === 0) shard = this.fit(cur, estimate);
        for (const w of fresh) {
          this.weightShard.set(w, shard);
          this.used[this.open(shard)]! += await io.place(w, shard);
        }
      } else if (n.spec.op === 'attn') {
        const layer = n.spec.layer;
        let s = this.attnShard.get(layer);
        if (s === undefined) {
          s = this.fit(cur, kvBytes(g, n, this.nCtx));
          this.attnShard.set(layer, s);
          this.used[this.open(s)]! += kvBytes(g, n, this.nCtx);
        }
        shard = s;
      }
      out[n.id] = this.open(shard);
      cur = shard;
    }
    this.last = cur;
    return out;
  }

  /** `from` when `bytes` more still fit under the cap there (or it is empty), else the first later shard that has room. */
  private fit(from: number, bytes: number): number {
    let s = from;
    while ((this.used[s] ?? 0) > 0 && (this.used[s] ?? 0) + bytes > this.cap) s++;
    return this.open(s);
  }
}

/** The KV cache one attention layer keeps in its memory: f32 K and V rows for every position. */
export function kvBytes(g: Graph, attn: GraphNode, nCtx: number): number {
  const k = g.nodes[attn.src[1]!]!.shape;
  const v = g.nodes[attn.src[2]!]!.shape;
  return 4 * (k[0]! * k[1]! + v[0]! * v[1]!) * nCtx;
}
