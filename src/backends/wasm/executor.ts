// WasmExecutor: runs whole graphs in the WASM kernels. Weights are copied into the shared memory once, range by
// range (dequantized to f32 only where an op reads them as activations), KV caches live there per layer, and each
// graph compiles once into a program whose buffers share one activation arena. A run writes the inputs (tokens,
// positions, rope tables), starts the pool and reads the output back.
import { EngineError } from '../../core/errors.ts';
import type { GraphExecutor, RunInputs, WeightData } from '../../graph/executor.ts';
import type { Graph } from '../../graph/graph.ts';
import { quantTraits } from '../../quant/registry.ts';
import { OP_BYTES, Status } from './abi.ts';
import { compileGraph, linkRecords, type CompileContext, type Program, type RawWeight } from './compile.ts';
import { ropeTable } from './rope-table.ts';
import type { WasmRuntime } from './runtime.ts';

export type { WeightData, RunInputs } from '../../graph/executor.ts';

/** Weights move into wasm memory in ranges of this size (never a second full copy in the JS heap). */
const COPY_RANGE = 16 << 20;

interface Compiled {
  readonly prog: Program;
  readonly ops: number;
  linkedArena: number;
}

interface LayerCache {
  readonly k: number;
  readonly v: number;
  readonly dims: string;
}

export class WasmExecutor implements GraphExecutor {
  private readonly raw = new Map<string, RawWeight>();
  private readonly f32 = new Map<string, number>();
  private readonly kv = new Map<number, LayerCache>();
  private programs = new WeakMap<Graph, Compiled>();
  private readonly allocs: number[] = [];
  private arena = 0;
  private arenaBytes = 0;
  private queryOp = 0;
  private disposed = false;
  /** Runs in call order: a run writes inputs into the arena the previous one may still be reading. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly runtime: WasmRuntime,
    private readonly weights: (name: string) => WeightData,
    readonly nCtx: number,
  ) {}

  private alloc(bytes: number, alignment = 64): number {
    const p = this.runtime.heap.alloc(bytes, alignment);
    this.allocs.push(p);
    return p;
  }

  private rawWeight(name: string): RawWeight {
    let r = this.raw.get(name);
    if (r === undefined) {
      const d = this.weights(name);
      const ptr = this.alloc(d.bytes.length);
      for (let o = 0; o < d.bytes.length; o += COPY_RANGE) this.runtime.heap.u8.set(d.bytes.subarray(o, Math.min(d.bytes.length, o + COPY_RANGE)), ptr + o);
      r = { ptr, type: d.type, dims: d.dims };
      this.raw.set(name, r);
    }
    return r;
  }

  private f32Weight(name: string): number {
    let p = this.f32.get(name);
    if (p === undefined) {
      const d = this.weights(name);
      if (d.type === 0) p = this.rawWeight(name).ptr;
      else {
        const n = d.dims.reduce((a, b) => a * b, 1);
        const vals = new Float32Array(n);
        quantTraits(d.type, name).dequantizeRow(d.bytes, vals, n);
        p = this.alloc(4 * n);
        this.runtime.heap.f32.set(vals, p / 4);
      }
      this.f32.set(name, p);
    }
    return p;
  }

  private kvCache(layer: number, dk: number, dv: number, nkv: number): { k: number; v: number } {
    const dims = `${dk}x${dv}x${nkv}`;
    let c = this.kv.get(layer);
    if (c === undefined) {
      c = { k: this.alloc(4 * dk * nkv * this.nCtx), v: this.alloc(4 * dv * nkv * this.nCtx), dims };
      this.kv.set(layer, c);
    } else if (c.dims !== dims) {
      throw new EngineError('model_invalid', `layer ${layer}: attention shapes changed between graphs (${c.dims} vs ${dims})`);
    }
    return c;
  }

  private context(): CompileContext {
    if (this.queryOp === 0) this.queryOp = this.alloc(OP_BYTES);
    return {
      kernels: this.runtime.kernels,
      threads: this.runtime.threads,
      nCtx: this.nCtx,
      rawWeight: (n) => this.rawWeight(n),
      f32Weight: (n) => this.f32Weight(n),
      kvCache: (l, dk, dv, nkv) => this.kvCache(l, dk, dv, nkv),
      queryOp: this.queryOp,
      writeI32: (ptr, words) => this.runtime.heap.i32.set(words, ptr / 4),
    };
  }

  /** Compiles `g` now (weights are copied in here), so that the first run() does not pay for it. */
  prepare(g: Graph): void {
    this.compiled(g);
  }

  private compiled(g: Graph): Compiled {
    let c = this.programs.get(g);
    if (c === undefined) {
      const prog = compileGraph(g, this.context());
      c = { prog, ops: this.alloc(prog.nOps * OP_BYTES), linkedArena: -1 };
      this.programs.set(g, c);
    }
    if (c.prog.arenaBytes > this.arenaBytes) {
      // a bigger arena: the old one goes back to the heap, and every program relinks on its next run
      if (this.arena !== 0) {
        this.runtime.heap.release(this.arena);
        this.allocs.splice(this.allocs.indexOf(this.arena), 1);
      }
      this.arenaBytes = Math.ceil(c.prog.arenaBytes * 1.25);
      this.arena = this.alloc(this.arenaBytes);
    }
    if (c.linkedArena !== this.arena) {
      this.runtime.heap.i32.set(linkRecords(c.prog, this.arena), c.ops / 4);
      c.linkedArena = this.arena;
    }
    return c;
  }

  run(g: Graph, inputs: RunInputs): Promise<Float32Array> {
    const next = this.queue.then(() => this.runNow(g, inputs));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runNow(g: Graph, inputs: RunInputs): Promise<Float32Array> {
    if (this.disposed) throw new EngineError('bad_argument', 'the WASM executor was disposed');
    const { prog, ops } = this.compiled(g);
    const heap = this.runtime.heap;
    if (inputs.tokens.length !== g.nTokens || inputs.positions.length !== g.nTokens) {
      throw new EngineError('bad_argument', `the graph takes ${g.nTokens} tokens, got ${inputs.tokens.length} tokens and ${inputs.positions.length} positions`);
    }
    for (const limit of prog.idLimits) {
      const bad = inputs.tokens.find((id) => id < 0 || id >= limit);
      if (bad !== undefined) throw new EngineError('bad_argument', `token id ${bad} is outside the vocabulary (${limit} tokens)`);
    }
    if (prog.hasAttn) {
      const p = inputs.positions.find((x) => x >= this.nCtx || x < 0);
      if (p !== undefined) throw new EngineError('bad_argument', `position ${p} is past the context size ${this.nCtx}; start a new conversation or raise --ctx`);
    }
    heap.i32.set(inputs.tokens, (this.arena + prog.tokensOff) / 4);
    heap.i32.set(inputs.positions, (this.arena + prog.positionsOff) / 4);
    for (const r of prog.ropes) ropeTable(inputs.positions, r.p, heap.f64.subarray((this.arena + r.off) / 8, (this.arena + r.off) / 8 + r.p.nDims * g.nTokens));
    const { status, op } = await this.runtime.run(ops, prog.nOps);
    if (status !== Status.OK) throw this.statusError(status, prog, op);
    const o = (this.arena + prog.outputOff) / 4;
    return heap.f32.slice(o, o + prog.outputLen);
  }

  private statusError(status: number, prog: Program, op: number): Error {
    const node = prog.opNodes[op];
    const where = node !== undefined ? `${node.module} (${node.spec.op})` : `op ${op}`;
    switch (status) {
      case Status.INDEX:
        return new EngineError('bad_argument', `${where}: an index is out of range (token id or position)`);
      case Status.EXPERT:
        return new EngineError('model_invalid', `${where}: the router chose an expert id outside the expert tensors`);
      case Status.TYPE:
        return new EngineError('unsupported_quant', `${where}: a weight type has no WASM kernel`);
      default:
        return new Error(`WASM kernels failed with status ${status} at ${where}`);
    }
  }

  resetCache(): void {
    // Positions decide what attention reads: a new sequence overwrites the cache from position 0.
  }

  /** Gives every byte back to the runtime's heap (weights, caches, programs, arena). */
  dispose(): void {
    this.disposed = true;
    for (const p of this.allocs) this.runtime.heap.release(p);
    this.allocs.length = 0;
    this.raw.clear();
    this.f32.clear();
    this.kv.clear();
    this.programs = new WeakMap();
  }
}

