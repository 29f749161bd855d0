// ShardedWasmExecutor: a GraphExecutor over as many wasm32 memories as the weights need (4 GiB each), one
// WasmRuntime (memory + worker pool) and one WasmExecutor per shard. ShardPlanner puts each weight in a shard and
// each op where its weights are; a graph is cut into runs per shard and only activations cross between memories
// (a few KB per layer boundary in decode). With everything in one memory it is a WasmExecutor with no overhead.
// Why shards and not Memory64: ARCHITECTURE.md "Experts beyond 4 GiB".
import { EngineError } from '../../core/errors.ts';
import type { GraphExecutor, RunInputs, WeightData } from '../../graph/executor.ts';
import type { Graph } from '../../graph/graph.ts';
import { weightForms, type WeightForms } from './compile.ts';
import { WasmExecutor, type RangedWeights } from './executor.ts';
import type { WasmRuntime } from './runtime.ts';
import { ShardPlanner, type ShardIo } from './shard-plan.ts';
import { splitByShard, type ShardSegment } from './shard-split.ts';

/** Weights per memory before the next shard opens: 4 GiB less room for KV caches' overshoot, arenas and stacks. */
export const DEFAULT_SHARD_BYTES = 3.5 * 2 ** 30;

export interface ShardedWasmOptions {
  /** Creates the runtime of a new shard (its own memory and workers); the executor owns and disposes them. */
  readonly createRuntime: () => Promise<WasmRuntime>;
  readonly nCtx: number;
  /** Weights not loaded ahead by loadWeights (tests, small models); without it they must be loaded ahead. */
  readonly weights?: (name: string) => WeightData;
  /** Bytes of weights (and KV caches) one memory takes before the next opens; default DEFAULT_SHARD_BYTES. */
  readonly shardBytes?: number;
}

interface Shard {
  readonly rt: WasmRuntime;
  readonly ex: WasmExecutor;
}

interface Plan {
  readonly shardOf: Int32Array;
  /** By the outputs asked for. */
  readonly segments: Map<string, ShardSegment[]>;
}

export class ShardedWasmExecutor implements GraphExecutor {
  private readonly shards: Shard[] = [];
  private readonly planner: ShardPlanner;
  private plans = new WeakMap<Graph, Plan>();
  private opening: Promise<void> = Promise.resolve();
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  constructor(private readonly o: ShardedWasmOptions) {
    this.planner = new ShardPlanner(o.shardBytes ?? DEFAULT_SHARD_BYTES, o.nCtx);
  }

  /** Opens the first shard at once (its runtime picks the kernel variant that the label reports). */
  static async create(o: ShardedWasmOptions): Promise<ShardedWasmExecutor> {
    const ex = new ShardedWasmExecutor(o);
    await ex.shard(0);
    return ex;
  }

  /** e.g. "WASM relaxed ×2 threads, 3 memories". */
  get label(): string {
    const rt = this.shards[0]?.rt;
    if (rt === undefined) return 'WASM';
    const n = this.shards.length;
    return `WASM ${rt.isa} ×${rt.threads} thread${rt.threads === 1 ? '' : 's'}${n > 1 ? `, ${n} memories` : ''}`;
  }

  /** Bytes of each wasm memory (the engine's memory report). */
  memoryBytes(): number[] {
    return this.shards.map((s) => s.rt.memory.buffer.byteLength);
  }

  /** Memories in use. */
  get shardCount(): number {
    return this.shards.length;
  }

  /** The runtimes of the shards (label, stats). */
  get runtimes(): readonly WasmRuntime[] {
    return this.shards.map((s) => s.rt);
  }

  private lazyWeight(name: string): WeightData {
    if (this.o.weights === undefined) throw new EngineError('model_invalid', `tensor ${name} was not loaded into the WASM backend (loadWeights) and there is no weights callback`, { tensor: name });
    return this.o.weights(name);
  }

  private async shard(i: number): Promise<Shard> {
    // shards open in order, one at a time (a runtime starts workers)
    const next = this.opening.then(async () => {
      while (this.shards.length <= i) {
        const rt = await this.o.createRuntime();
        this.shards.push({ rt, ex: new WasmExecutor(rt, (n) => this.lazyWeight(n), this.o.nCtx) });
      }
    });
    this.opening = next.catch(() => undefined);
    await next;
    return this.shards[i]!;
  }

  /** Assigns g's ops to shards, reading and placing the weights not placed yet through `read` (whole tensors). */
  private plan(g: Graph, read: (name: string) => Promise<WeightData>, onProgress?: (bytes: number) => void): Promise<Plan> {
    const forms = weightForms(g);
    let pending: { name: string; d: WeightData } | undefined;
    const fetch = async (name: string): Promise<WeightData> => (pending?.name === name ? pending.d : (pending = { name, d: await read(name) }).d);
    return this.planWith(g, {
      measure: async (name) => residentBytes(await fetch(name), forms.get(name)!),
      place: async (name, shard) => {
        const d = await fetch(name);
        pending = undefined; // the JS bytes go once copied
        (await this.shard(shard)).ex.storeWeight(name, d, forms.get(name)!);
        onProgress?.(d.bytes.length);
        return residentBytes(d, forms.get(name)!);
      },
    });
  }

  private async planWith(g: Graph, io: ShardIo): Promise<Plan> {
    let p = this.plans.get(g);
    if (p !== undefined) return p;
    const shardOf = await this.planner.assign(g, io);
    for (let s = 0; s < this.planner.shards; s++) await this.shard(s);
    p = { shardOf, segments: new Map() };
    this.plans.set(g, p);
    return p;
  }

  async loadWeights(g: Graph, read: (name: string) => Promise<WeightData>, onProgress?: (bytes: number) => void): Promise<void> {
    await this.serial(async () => {
      await this.plan(g, read, onProgress);
      // weights placed by an earlier graph but needed here in another form (rare): into their shard now
      for (const [name, forms] of weightForms(g)) {
        const s = this.planner.shardOfWeight(name)!;
        const ex = this.shards[s]!.ex;
        if (!ex.hasWeight(name, forms)) {
          const d = await read(name);
          ex.storeWeight(name, d, forms);
          onProgress?.(d.bytes.length);
        }
      }
    });
  }

  /**
   * loadWeights from a ranged source (a GGUF's ByteSource): sizes come from the tensor infos, and bytes go into
   * their memory in ranges, so the JS heap never holds a whole tensor.
   */
  async loadWeightsRanged(g: Graph, src: RangedWeights, onProgress?: (bytes: number) => void): Promise<void> {
    await this.serial(async () => {
      const forms = weightForms(g);
      await this.planWith(g, {
        measure: (name) => {
          const i = src.info(name);
          return Promise.resolve(residentBytes({ type: i.type, dims: i.dims, bytes: { length: i.nBytes } }, forms.get(name)!));
        },
        place: async (name, shard) => {
          const i = src.info(name);
          await (await this.shard(shard)).ex.storeWeightRanged(name, src, forms.get(name)!);
          onProgress?.(i.nBytes);
          return residentBytes({ type: i.type, dims: i.dims, bytes: { length: i.nBytes } }, forms.get(name)!);
        },
      });
      for (const [name, f] of forms) {
        const ex = this.shards[this.planner.shardOfWeight(name)!]!.ex;
        if (!ex.hasWeight(name, f)) await ex.storeWeightRanged(name, src, f);
      }
    });
  }

  run(g: Graph, inputs: RunInputs): Promise<Float32Array> {
    return this.runMany(g, inputs, [g.output]).then((r) => r[0]!);
  }

  runMany(g: Graph, inputs: RunInputs, outputs: readonly number[]): Promise<Float32Array[]> {
    return this.serial(() => this.runNow(g, inputs, outputs));
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.queue.then(() => {
      if (this.disposed) throw new EngineError('bad_argument', 'the WASM executor was disposed');
      return f();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runNow(g: Graph, inputs: RunInputs, outputs: readonly number[]): Promise<Float32Array[]> {
    const p = await this.plan(g, (n) => Promise.resolve(this.lazyWeight(n)));
    if (this.shards.length === 1) return this.shards[0]!.ex.runMany(g, inputs, outputs);
    const key = outputs.join(',');
    let segs = p.segments.get(key);
    if (segs === undefined) p.segments.set(key, (segs = splitByShard(g, p.shardOf, outputs)));
    const values = new Map<number, Float32Array>(inputs.externals ?? []);
    for (const seg of segs) {
      const externals = new Map<number, Float32Array>();
      for (const [local, orig] of seg.externals) {
        const v = values.get(orig);
        if (v === undefined) throw new EngineError('bad_argument', `no value given for external node ${orig} (${g.nodes[orig]!.module})`);
        externals.set(local, v);
      }
      const outs = [...seg.outputs];
      const res = await this.shards[seg.shard]!.ex.runMany(seg.graph, { tokens: inputs.tokens, positions: inputs.positions, externals }, outs.map(([, l]) => l));
      outs.forEach(([orig], i) => values.set(orig, res[i]!));
    }
    return outputs.map((o) => values.get(o)!);
  }

  resetCache(): void {
    for (const s of this.shards) s.ex.resetCache();
  }

  /** Frees every memory and stops every shard's workers. */
  async dispose(): Promise<void> {
    await this.serial(() => Promise.resolve()).catch(() => undefined);
    this.disposed = true;
    await this.opening;
    for (const s of this.shards) {
      s.ex.dispose();
      await s.rt.dispose();
    }
    this.shards.length = 0;
    this.plans = new WeakMap();
  }
}

/** Bytes a weight takes in wasm memory in `forms` (an F32 tensor's f32 form is its raw bytes). */
function residentBytes(d: { readonly type: number; readonly dims: readonly number[]; readonly bytes: { readonly length: number } }, forms: WeightForms): number {
  const n = d.dims.reduce((a, b) => a * b, 1);
  return (forms.raw || d.type === 0 ? d.bytes.length : 0) + (forms.f32 && d.type !== 0 ? 4 * n : 0);
}
