// A generation session over any GraphExecutor (WebGPU, WASM, hybrid, cpu-ref): the model's graphs built once per
// token count, a position counter over the executor's KV cache, and eval() that appends tokens and returns
// logits. Long prompts are prefilled in chunks of `chunkSize` tokens, so activations and the MoE expert batches
// stay bounded (KTransformers' chunked prefill); the result equals one big batch up to rounding.
import { EngineError } from '../core/errors.ts';
import type { GraphExecutor } from '../graph/executor.ts';
import type { Graph } from '../graph/graph.ts';
import type { Model } from '../models/model.ts';

/** Graphs kept per session: each holds device plans (buffers, bind groups), so prompt lengths must not pile up. */
const GRAPH_CACHE = 8;

export interface TopKOptions {
  readonly k: number;
  readonly penaltyIds?: Int32Array;
  readonly penalty?: number;
}

/** An executor that can cut the logits to the k best on its device (only k ids and values are read back). */
export interface TopKExecutor extends GraphExecutor {
  runTopK(g: Graph, inputs: { tokens: Int32Array; positions: Int32Array }, o: TopKOptions): Promise<{ ids: Int32Array; logits: Float32Array }>;
}

export class Session {
  private nPast = 0;
  private readonly graphs = new Map<string, Graph>();

  constructor(
    readonly model: Model,
    readonly exec: GraphExecutor,
    readonly nCtx: number,
    readonly chunkSize = 512,
    /** Expert deferral: routed experts per token added one layer later (rules kwarg defer_experts). */
    readonly deferExperts = 0,
  ) {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new EngineError('bad_argument', `chunk size ${chunkSize}: expected a positive integer`);
  }

  get position(): number {
    return this.nPast;
  }

  reset(): void {
    this.nPast = 0;
    this.exec.resetCache();
  }

  graph(nTokens: number, allLogits: boolean): Graph {
    const key = `${nTokens}:${allLogits}`;
    let g = this.graphs.get(key);
    if (g !== undefined) {
      this.graphs.delete(key); // re-inserted below: Map order is the LRU order
    } else {
      g = this.model.build({ nTokens, allLogits, deferExperts: this.deferExperts });
      if (this.graphs.size >= GRAPH_CACHE) this.graphs.delete(this.graphs.keys().next().value!);
    }
    this.graphs.set(key, g);
    return g;
  }

  private check(n: number): void {
    if (n === 0) throw new EngineError('bad_argument', 'eval needs at least one token');
    if (this.nPast + n > this.nCtx) {
      throw new EngineError('bad_argument', `${this.nPast + n} tokens exceed the context size ${this.nCtx}; raise --ctx or start a new conversation`);
    }
  }

  private inputs(tokens: readonly number[]): { tokens: Int32Array; positions: Int32Array } {
    return { tokens: Int32Array.from(tokens), positions: Int32Array.from(tokens, (_, i) => this.nPast + i) };
  }

  /** Appends `tokens`; returns logits [n_vocab * n] for every new position, or [n_vocab] for the last. */
  async eval(tokens: readonly number[], allLogits = false): Promise<Float32Array> {
    this.check(tokens.length);
    const parts: Float32Array[] = [];
    for (let s = 0; s < tokens.length; s += this.chunkSize) {
      const chunk = tokens.slice(s, s + this.chunkSize);
      const last = s + this.chunkSize >= tokens.length;
      if (!allLogits && !last) {
        // Earlier chunks only fill the KV cache; their logits are not needed, but lm_head of one row is cheap.
        await this.exec.run(this.graph(chunk.length, false), this.inputs(chunk));
      } else {
        parts.push(await this.exec.run(this.graph(chunk.length, allLogits), this.inputs(chunk)));
      }
      this.nPast += chunk.length;
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /**
   * Like eval() for the last position, but when the executor can, only the k best logits come back from the
   * device (sampling with top-k needs no more). Returns undefined when it cannot (the caller uses eval()).
   */
  async evalTopK(tokens: readonly number[], o: TopKOptions): Promise<{ ids: Int32Array; logits: Float32Array } | undefined> {
    const ex = this.exec as Partial<TopKExecutor>;
    if (ex.runTopK === undefined || tokens.length > this.chunkSize) return undefined;
    this.check(tokens.length);
    const r = await ex.runTopK.call(this.exec, this.graph(tokens.length, false), this.inputs(tokens), o);
    this.nPast += tokens.length;
    return r;
  }
}
