// WasmExecutor: runs whole graphs (and hybrid segments) in the WASM kernels. Weights are copied into the shared
// memory once, range by range (dequantized to f32 only where an op reads them as activations), either up front
// (loadWeights, from an async reader) or on first use (the constructor's callback); KV caches live there per layer;
// each graph compiles once per set of read-back outputs into a program whose buffers share one activation arena. A
// run writes the inputs (tokens, positions, rope tables, external values), starts the pool and reads outputs back.
import { EngineError } from '../../core/errors.ts';
import type { GraphExecutor, RunInputs, WeightData } from '../../graph/executor.ts';
import type { Graph } from '../../graph/graph.ts';
import { quantTraits } from '../../quant/registry.ts';
import { OP_BYTES, Status } from './abi.ts';
import { compileGraph, linkRecords, weightForms, type CompileContext, type Program, type RawWeight, type WeightForms } from './compile.ts';
import { ropeTable } from './rope-table.ts';
import type { WasmRuntime } from './runtime.ts';

export type { WeightData, RunInputs } from '../../graph/executor.ts';

/** Tensors readable by byte range (a GGUF's ByteSource): loading copies them into wasm memory range by range. */
export interface RangedWeights {
  info(name: string): { readonly type: number; readonly dims: readonly number[]; readonly nBytes: number };
  read(name: string, offset: number, length: number): Promise<Uint8Array>;
}

/** Weights move into wasm memory in ranges of this size (never a second full copy in the JS heap). */
const COPY_RANGE = 16 << 20;
/** f32 forms are dequantized in row ranges of about this many elements (no full f32 copy in the JS heap). */
const DEQUANT_RANGE = 1 << 20;

const numel = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

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
  private programs = new WeakMap<Graph, Map<string, Compiled>>();
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
    return this.raw.get(name) ?? this.storeRaw(name, this.weights(name));
  }

  private f32Weight(name: string): number {
    return this.f32.get(name) ?? this.storeF32(name, this.raw.has(name) ? undefined : this.weights(name));
  }

  private storeRaw(name: string, d: WeightData): RawWeight {
    const ptr = this.alloc(d.bytes.length);
    for (let o = 0; o < d.bytes.length; o += COPY_RANGE) this.runtime.heap.u8.set(d.bytes.subarray(o, Math.min(d.bytes.length, o + COPY_RANGE)), ptr + o);
    const r = { ptr, type: d.type, dims: d.dims };
    this.raw.set(name, r);
    return r;
  }

  /** The f32 form: the raw bytes themselves for F32, else dequantized from `d` or (when undefined) the resident raw copy. */
  private storeF32(name: string, d: WeightData | undefined): number {
    const r = this.raw.get(name);
    const type = d?.type ?? r!.type;
    const dims = d?.dims ?? r!.dims;
    if (type === 0) {
      const p = (r ?? this.storeRaw(name, d!)).ptr;
      this.f32.set(name, p);
      return p;
    }
    const n = numel(dims);
    const p = this.alloc(4 * n);
    const rowLen = dims[0]!;
    const rows = n / rowLen;
    const step = Math.max(1, Math.floor(DEQUANT_RANGE / rowLen));
    if (d === undefined) {
      // from the copy already in wasm memory, by the kernels (no bytes through JS)
      const rb = this.runtime.kernels.we_row_bytes(type, rowLen);
      for (let row = 0; row < rows; row++) {
        if (this.runtime.kernels.we_dequantize_row(type, r!.ptr + row * rb, p + 4 * row * rowLen, rowLen) !== Status.OK) {
          throw new EngineError('unsupported_quant', `tensor ${name}: the WASM kernels cannot dequantize its type`, { tensor: name });
        }
      }
    } else {
      const traits = quantTraits(type, name);
      const rb = d.bytes.length / rows;
      const vals = new Float32Array(Math.min(rows, step) * rowLen);
      for (let row = 0; row < rows; row += step) {
        const nr = Math.min(step, rows - row);
        const v = vals.subarray(0, nr * rowLen);
        traits.dequantizeRow(d.bytes.subarray(row * rb, (row + nr) * rb), v, nr * rowLen);
        this.runtime.heap.f32.set(v, p / 4 + row * rowLen);
      }
    }
    this.f32.set(name, p);
    return p;
  }

  /** Whether `name` is resident in every form of `forms`. */
  hasWeight(name: string, forms: WeightForms): boolean {
    return (!forms.raw || this.raw.has(name)) && (!forms.f32 || this.f32.has(name));
  }

  /** Puts `d` into wasm memory in the forms asked for (those already resident are kept). */
  storeWeight(name: string, d: WeightData, forms: WeightForms): void {
    if (forms.raw && !this.raw.has(name)) this.storeRaw(name, d);
    if (forms.f32 && !this.f32.has(name)) this.storeF32(name, d);
  }

  /** Like storeWeight, but the bytes come from `src` in ranges of COPY_RANGE (no whole tensor in the JS heap). */
  async storeWeightRanged(name: string, src: RangedWeights, forms: WeightForms): Promise<void> {
    const info = src.info(name);
    const viaRaw = forms.raw || info.type === 0;
    if (viaRaw && !this.raw.has(name)) {
      const ptr = this.alloc(info.nBytes);
      for (let o = 0; o < info.nBytes; o += COPY_RANGE) this.runtime.heap.u8.set(await src.read(name, o, Math.min(COPY_RANGE, info.nBytes - o)), ptr + o);
      this.raw.set(name, { ptr, type: info.type, dims: info.dims });
    }
    if (!forms.f32 || this.f32.has(name)) return;
    if (this.raw.has(name)) {
      this.storeF32(name, undefined);
      return;
    }
    // f32 only: dequantize range by range of whole rows
    const rowLen = info.dims[0]!;
    const rows = numel(info.dims) / rowLen;
    const rb = info.nBytes / rows;
    const step = Math.max(1, Math.floor(DEQUANT_RANGE / rowLen));
    const p = this.alloc(4 * rows * rowLen);
    const traits = quantTraits(info.type, name);
    for (let row = 0; row < rows; row += step) {
      const nr = Math.min(step, rows - row);
      const v = new Float32Array(nr * rowLen);
      traits.dequantizeRow(await src.read(name, row * rb, nr * rb), v, nr * rowLen);
      this.runtime.heap.f32.set(v, p / 4 + row * rowLen);
    }
    this.f32.set(name, p);
  }

  /**
   * Reads every weight of `g` that is not resident yet (once each, in graph order) and copies it into wasm memory in
   * the forms g's ops read; afterwards g, the same model's graphs for other token counts and its segment graphs run
   * without calling the constructor's weights callback. The JS bytes of a tensor are dropped once it is copied.
   */
  async loadWeights(g: Graph, read: (name: string) => Promise<WeightData>, onProgress?: (bytes: number) => void): Promise<void> {
    for (const [name, forms] of weightForms(g)) {
      if (this.hasWeight(name, forms)) continue;
      const d = await read(name);
      this.storeWeight(name, d, forms);
      onProgress?.(d.bytes.length);
    }
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
  prepare(g: Graph, outputs?: readonly number[]): void {
    this.compiled(g, outputs);
  }

  private compiled(g: Graph, outputs: readonly number[] = [g.output]): Compiled {
    let byOutputs = this.programs.get(g);
    if (byOutputs === undefined) this.programs.set(g, (byOutputs = new Map()));
    const key = outputs.join(',');
    let c = byOutputs.get(key);
    if (c === undefined) {
      const prog = compileGraph(g, this.context(), outputs);
      c = { prog, ops: this.alloc(prog.nOps * OP_BYTES), linkedArena: -1 };
      byOutputs.set(key, c);
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
    return this.runMany(g, inputs, [g.output]).then((r) => r[0]!);
  }

  /** Values of several nodes (hybrid and shard segments hand more than one value on). */
  runMany(g: Graph, inputs: RunInputs, outputs: readonly number[]): Promise<Float32Array[]> {
    const next = this.queue.then(() => this.runNow(g, inputs, outputs));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runNow(g: Graph, inputs: RunInputs, outputs: readonly number[]): Promise<Float32Array[]> {
    if (this.disposed) throw new EngineError('bad_argument', 'the WASM executor was disposed');
    const { prog, ops } = this.compiled(g, outputs);
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
    for (const x of prog.externals) {
      const v = inputs.externals?.get(x.id);
      if (v === undefined || v.length !== x.len) throw new EngineError('bad_argument', `external node ${x.id} needs ${x.len} values, got ${v?.length ?? 'none'}`);
      heap.f32.set(v, (this.arena + x.off) / 4);
    }
    heap.i32.set(inputs.tokens, (this.arena + prog.tokensOff) / 4);
    heap.i32.set(inputs.positions, (this.arena + prog.positionsOff) / 4);
    for (const r of prog.ropes) ropeTable(inputs.positions, r.p, heap.f64.subarray((this.arena + r.off) / 8, (this.arena + r.off) / 8 + r.p.nDims * g.nTokens));
    const { status, op } = await this.runtime.run(ops, prog.nOps);
    if (status !== Status.OK) throw this.statusError(status, prog, op);
    return prog.outputs.map((o) => heap.f32.slice((this.arena + o.off) / 4, (this.arena + o.off) / 4 + o.len));
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

