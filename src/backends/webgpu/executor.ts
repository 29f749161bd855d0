// WebGpuExecutor: runs a Graph entirely on the GPU. Weights are uploaded once as their GGUF bytes (no
// requantization), ahead of time by loadWeights() or when a graph first needs them; each Graph object gets a plan
// (buffers, pipelines, bind groups) on first run; a run writes the inputs, records the whole plan into one
// command buffer and reads back only the output, or for sampling only the argmax ids or the k best candidates.
// The KV cache stays on the GPU between runs.
import { EngineError } from '../../core/errors.ts';
import type { DeviceValue, GraphExecutor, PreparedRun, RunInputs, WeightData } from '../../graph/executor.ts';
import type { Graph } from '../../graph/graph.ts';
import { BufferPool, HandoffPool } from './buffers.ts';
import type { GpuCaps, GpuContext } from './device.ts';
import { encodeSteps, prepareSteps, type PreparedStep } from './dispatch.ts';
import { deviceLost, gpuFailure, graphInvalid, unsupported } from './errors.ts';
import { BufferUsage, MapMode } from './gpu-flags.ts';
import type { MatvecTuning } from './ops/context.ts';
import { ropeTableValues } from './ops/rope.ts';
import { PipelineCache } from './pipeline-cache.ts';
import { buildPlan, type Plan, type PlanHost } from './plan.ts';
import { buildTopK, destroyTopK, MAX_TOP_K, penaltyWords, type TopKPlan } from './topk.ts';
import { Params } from './uniforms.ts';
import { WeightStore } from './weights.ts';
import type { ShaderLibrary } from './wgsl-pre.ts';

export interface WebGpuExecutorOptions {
  /** Positions the KV cache holds. */
  readonly nCtx: number;
  readonly shaders: ShaderLibrary;
  /** Fill every activation with NaN before each run, so stale values cannot pass a test. */
  readonly poison?: boolean;
  /** Use a smaller binding limit than the device's (tests weights split over several buffers). */
  readonly maxBindingBytes?: number;
  /** Use the shared-memory reductions even where subgroups exist. */
  readonly noSubgroups?: boolean;
  readonly matvec?: MatvecTuning;
}

export interface TopKOptions {
  /** Candidates to return, 1..256. */
  readonly k: number;
  /** Tokens to penalize (llama.cpp repeat penalty: positive logits divided, negative multiplied). */
  readonly penaltyIds?: Int32Array;
  readonly penalty?: number;
}

interface Readback {
  readonly buf: GPUBuffer;
  readonly bytes: number;
}

/**
 * What a run appends after the graph: extra steps, then copies of (buffer, bytes) back to back into a readback
 * (none: nothing is read back and the run resolves once queued), and copies of values kept on the device.
 */
interface Tail {
  readonly steps: readonly PreparedStep[];
  readonly copies: readonly (readonly [GPUBuffer, number])[];
  readonly readback: Readback;
  readonly keep?: readonly (readonly [from: GPUBuffer, to: GPUBuffer, bytes: number])[];
}

/** A value kept on this executor's GPU between runs (a hybrid GPU→GPU hand-off). */
class GpuValue implements DeviceValue {
  private released = false;

  constructor(
    readonly owner: WebGpuExecutor,
    readonly buf: GPUBuffer,
    readonly floats: number,
    private readonly pool: HandoffPool,
  ) {}

  get live(): boolean {
    return !this.released;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.pool.give(this.buf);
  }
}

/** Host-side time of the runs so far (benchmarks read the difference between two snapshots). */
export interface GpuRunCounters {
  runs: number;
  dispatches: number;
  /** Writing inputs and recording the command buffer, up to submit (JS and Dawn's validation). */
  encodeMs: number;
  /** From submit until the read-back is mapped (GPU execution and the map's completion). */
  waitMs: number;
  /** GPU execution of the runs' compute passes from timestamp queries (when the device has them), and how many runs
   * were timed (a run's pair is read back with the next run that reads something back). */
  gpuMs: number;
  timedRuns: number;
}

/** Timestamp pairs a run can leave pending before the next read-back collects them (more go untimed). */
const TS_PAIRS = 64;
/** Pass timestamps of runs: slots free, and slots of submitted runs not yet read back. */
interface Timestamps {
  readonly qs: GPUQuerySet;
  readonly resolve: GPUBuffer;
  readonly free: number[];
  readonly submitted: number[];
}

/** A command buffer recorded for a plan, waiting for its host inputs. */
interface Recorded {
  readonly e: PlanEntry;
  readonly tail: Tail;
  readonly cmd: GPUCommandBuffer;
  /** Externals copied from values kept on the GPU. */
  readonly onDevice: ReadonlySet<number>;
  /** Its timestamp pair (-1: untimed) and the pairs its readback collects (earlier runs', and its own). */
  readonly slot: number;
  readonly collect: readonly number[];
  readonly encodeMs: number;
}

/** A runKeeping recorded: the command buffer, the values it will keep, how many outputs it reads back. */
interface KeepingRun {
  readonly rec: Recorded;
  readonly kept: readonly GpuValue[];
  readonly nRead: number;
}

/** Where a readback buffer holds the collected timestamps: after the outputs, 8-aligned. */
const tsOffset = (bytes: number): number => Math.ceil(bytes / 8) * 8;

interface PlanEntry {
  readonly plan: Plan;
  /** All outputs back to back (floats). */
  /** By bytes read back: runs reading all outputs, or (kept values) only the first few. */
  readonly readbacks: Map<number, Readback>;
  readonly sizes: readonly number[];
  argmax?: { readonly step: PreparedStep; readonly ids: GPUBuffer; readonly readback: Readback };
  readonly topk: Map<number, { plan: TopKPlan; readback: Readback }>;
}

export class WebGpuExecutor implements GraphExecutor {
  private readonly device: GPUDevice;
  private readonly caps: GpuCaps;
  private readonly host: PlanHost;
  private readonly pipelines: PipelineCache;
  private readonly pool: BufferPool;
  private readonly handoffs: HandoffPool;
  private readonly weights: WeightStore;
  private readonly kv = new Map<string, GPUBuffer>();
  private readonly plans = new WeakMap<Graph, Map<string, Promise<PlanEntry>>>();
  private readonly extra: GPUBuffer[] = [];
  readonly counters: GpuRunCounters = { runs: 0, dispatches: 0, encodeMs: 0, waitMs: 0, gpuMs: 0, timedRuns: 0 };
  private ts: Timestamps | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private lost: string | undefined;
  /** The device's real binding limit (opts.maxBindingBytes only narrows how weights are split). */
  private readonly deviceMaxBinding: number;

  constructor(
    ctx: GpuContext,
    getWeight: (name: string) => WeightData,
    private readonly opts: WebGpuExecutorOptions,
  ) {
    this.device = ctx.device;
    this.deviceMaxBinding = ctx.caps.maxBindingBytes;
    this.caps = {
      ...ctx.caps,
      subgroups: ctx.caps.subgroups && opts.noSubgroups !== true,
      maxBindingBytes: Math.min(ctx.caps.maxBindingBytes, opts.maxBindingBytes ?? Infinity),
    };
    void this.device.lost.then((info) => {
      this.lost = info.message !== '' ? info.message : String(info.reason);
    });
    this.pipelines = new PipelineCache(this.device, opts.shaders);
    this.pool = new BufferPool(this.device);
    this.handoffs = new HandoffPool(this.device);
    this.weights = new WeightStore(this.device, getWeight, this.caps.maxBindingBytes, this.deviceMaxBinding);
    this.host = {
      device: this.device,
      caps: this.caps,
      lib: opts.shaders,
      pipelines: this.pipelines,
      pool: this.pool,
      nCtx: opts.nCtx,
      matvec: opts.matvec ?? {},
      weight: (name) => this.weights.raw(name),
      weightF32: (name) => this.weights.f32(name),
      kvCache: (layer, which, rowFloats) => this.kvCache(layer, which, rowFloats),
    };
  }

  get capabilities(): GpuCaps {
    return this.caps;
  }

  /** Buffers a weight was split into (tests). */
  segmentsOf(name: string): number {
    return this.weights.segmentsOf(name);
  }

  /** Number of compiled pipeline variants (tests check plans reuse them). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  resetCache(): void {
    // Attention reads only positions 0..pos of the current sequence, all rewritten by it: nothing to clear.
  }

  /**
   * Uploads every weight of `g` not yet on the GPU, in the forms g's ops read, reading each through `read` once;
   * afterwards graphs of the same model (other token counts, hybrid segments) never call the weights callback.
   */
  loadWeights(g: Graph, read: (name: string) => Promise<WeightData>, onProgress?: (bytes: number) => void): Promise<void> {
    return this.serial(async () => {
      this.checkLost();
      await this.weights.load(g, read, onProgress);
    });
  }

  run(g: Graph, inputs: RunInputs): Promise<Float32Array> {
    return this.runMany(g, inputs, [g.output]).then((r) => r[0]!);
  }

  /** Values of several nodes (hybrid segments hand more than one value on); each read back once per run. */
  runMany(g: Graph, inputs: RunInputs, outputs: readonly number[]): Promise<Float32Array[]> {
    return this.runKeeping(g, inputs, outputs, []).then((r) => r.read);
  }

  /**
   * Hybrid segments: reads back `read`, keeps `keep` on the GPU (copied out of the activation pool, which the
   * next plan reuses); with nothing to read back it resolves as soon as the command buffer is submitted.
   */
  runKeeping(g: Graph, inputs: RunInputs, read: readonly number[], keep: readonly number[]): Promise<{ read: Float32Array[]; kept: DeviceValue[] }> {
    return this.serial(async () => this.submitKeeping(await this.recordKeeping(g, inputs.deviceExternals, read, keep), inputs));
  }

  /**
   * Records a runKeeping ahead of its host inputs (the hybrid runtime: while the CPU computes what the segment
   * waits for), so that only writing those inputs and submitting remain; device externals are given now.
   */
  prepareKeeping(g: Graph, deviceExternals: ReadonlyMap<number, DeviceValue>, read: readonly number[], keep: readonly number[]): Promise<PreparedRun> {
    return this.serial(async () => {
      const k = await this.recordKeeping(g, deviceExternals, read, keep);
      let open = true;
      return {
        submit: (inputs) => {
          if (!open) return Promise.reject(new EngineError('bad_argument', 'a prepared GPU run can be submitted once'));
          open = false;
          return this.serial(() => this.submitKeeping(k, inputs));
        },
        drop: () => {
          if (!open) return;
          open = false;
          this.dropRecorded(k.rec);
          for (const v of k.kept) v.release();
        },
      };
    });
  }

  private async recordKeeping(g: Graph, deviceExternals: RunInputs['deviceExternals'], read: readonly number[], keep: readonly number[]): Promise<KeepingRun> {
    const e = await this.entry(g, [...read, ...keep]);
    const outs = e.plan.outputs;
    const kept = keep.map((_, j) => {
      const n = e.sizes[read.length + j]!;
      return new GpuValue(this, this.handoffs.take(n * 4), n, this.handoffs);
    });
    const copies = read.map((_, i) => [outs[i]!.buf, e.sizes[i]! * 4] as const);
    try {
      const readBytes = copies.reduce((a, [, b]) => a + b, 0);
      let readback = e.readbacks.get(readBytes);
      if (readback === undefined) e.readbacks.set(readBytes, (readback = this.readbackBuffer(readBytes)));
      return { rec: this.record(e, deviceExternals, { steps: [], copies, readback, keep: kept.map((v, j) => [outs[read.length + j]!.buf, v.buf, v.floats * 4] as const) }), kept, nRead: read.length };
    } catch (err) {
      for (const v of kept) v.release();
      throw err;
    }
  }

  private async submitKeeping(k: KeepingRun, inputs: RunInputs): Promise<{ read: Float32Array[]; kept: DeviceValue[] }> {
    let all: Float32Array;
    try {
      all = new Float32Array(await this.submitRecorded(k.rec, inputs));
    } catch (err) {
      for (const v of k.kept) v.release();
      throw err;
    }
    let off = 0;
    const sizes = k.rec.e.sizes;
    return { read: Array.from({ length: k.nRead }, (_, i) => all.slice(off, (off += sizes[i]!))), kept: [...k.kept] };
  }

  /** Greedy decoding: the argmax of each output column (ties to the lower index); only the ids are read back. */
  runArgmax(g: Graph, inputs: RunInputs): Promise<Int32Array> {
    return this.serial(async () => {
      const e = await this.entry(g, [g.output]);
      const a = (e.argmax ??= await this.argmaxFor(e.plan));
      return new Int32Array(await this.submit(e, inputs, { steps: [a.step], copies: [[a.ids, a.readback.bytes]], readback: a.readback }));
    });
  }

  /**
   * Sampling: the k best logits of the output's last column after the repetition penalty, sorted by logit
   * descending with ties to the lower id (the sampler's order); only those k ids and values are read back.
   */
  runTopK(g: Graph, inputs: RunInputs, o: TopKOptions): Promise<{ ids: Int32Array; logits: Float32Array }> {
    return this.serial(async () => {
      const e = await this.entry(g, [g.output]);
      const shape = e.plan.outputs[0]!.shape;
      const nVocab = shape[0]!;
      const cols = e.sizes[0]! / nVocab;
      if (!Number.isInteger(o.k) || o.k < 1 || o.k > Math.min(MAX_TOP_K, nVocab)) throw new EngineError('bad_argument', `top-k of ${o.k}: expected 1..${Math.min(MAX_TOP_K, nVocab)}`);
      if (o.penalty !== undefined && !(o.penalty > 0)) throw new EngineError('bad_argument', `repeat penalty ${o.penalty}: expected > 0`);
      for (const id of o.penaltyIds ?? []) if (id < 0 || id >= nVocab) throw new EngineError('bad_argument', `penalized token id ${id} is outside the vocabulary (${nVocab} tokens)`);
      const words = penaltyWords(o.penaltyIds, o.penalty);
      let t = e.topk.get(o.k);
      if (t === undefined || t.plan.capacity < words.length - 2) {
        if (t !== undefined) destroyTopK(t.plan);
        const plan = await buildTopK(this.device, this.pipelines, this.caps, e.plan.outputs[0]!.buf, nVocab, cols - 1, o.k, Math.max(256, 2 ** Math.ceil(Math.log2(words.length))));
        this.extra.push(...plan.buffers);
        t = { plan, readback: this.readbackBuffer(8 * o.k) };
        e.topk.set(o.k, t);
      }
      this.device.queue.writeBuffer(t.plan.penalty, 0, words);
      const r = await this.submit(e, inputs, { steps: t.plan.steps, copies: [[t.plan.values, 4 * o.k], [t.plan.ids, 4 * o.k]], readback: t.readback });
      return { logits: new Float32Array(r, 0, o.k), ids: new Int32Array(r, 4 * o.k, o.k) };
    });
  }

  /**
   * Benchmarks: replays the graph `reps` times in one compute pass and returns the GPU time of the pass in ns
   * from timestamp queries (undefined when the device has none; then time submit → done on the caller's clock).
   * `outputs` keeps those nodes' buffers apart (no node reuses them), e.g. to time independent products.
   */
  profile(g: Graph, inputs: RunInputs, reps: number, outputs: readonly number[] = [g.output]): Promise<number | undefined> {
    return this.serial(async () => {
      const e = await this.entry(g, outputs);
      const qs = this.caps.timestampQuery ? this.device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
      const enc = this.device.createCommandEncoder({ label: 'profile' });
      this.writeInputs(e.plan, inputs, new Set());
      const pass = enc.beginComputePass(qs !== undefined ? { label: 'profile', timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : { label: 'profile' });
      for (let r = 0; r < reps; r++) encodeSteps(pass, e.plan.steps);
      pass.end();
      let rb: Readback | undefined;
      if (qs !== undefined) {
        const resolve = this.device.createBuffer({ size: 16, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
        rb = this.readbackBuffer(16);
        enc.resolveQuerySet(qs, 0, 2, resolve, 0);
        enc.copyBufferToBuffer(resolve, 0, rb.buf, 0, 16);
      }
      this.device.queue.submit([enc.finish()]);
      await this.device.queue.onSubmittedWorkDone();
      if (rb === undefined) return undefined;
      const t = new BigInt64Array(await this.read(rb));
      qs?.destroy();
      return Number(t[1]! - t[0]!);
    });
  }

  /** Bytes of the GPU buffers this executor holds now: weights, KV caches, activations, staging. */
  allocatedBytes(): number {
    let n = this.weights.bytes() + this.pool.bytes() + this.handoffs.bytes();
    for (const b of this.kv.values()) n += b.size;
    for (const b of this.extra) n += b.size;
    return n;
  }

  destroy(): void {
    this.pool.destroy();
    this.handoffs.destroy();
    this.weights.destroy();
    for (const b of this.kv.values()) b.destroy();
    for (const b of this.extra) b.destroy();
    this.ts?.qs.destroy();
  }

  dispose(): void {
    this.destroy();
  }

  private checkLost(): void {
    if (this.lost !== undefined) throw deviceLost(this.lost);
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const r = this.queue.then(f);
    this.queue = r.catch(() => undefined);
    return r;
  }

  private entry(g: Graph, outputs: readonly number[]): Promise<PlanEntry> {
    this.checkLost();
    let byOutputs = this.plans.get(g);
    if (byOutputs === undefined) this.plans.set(g, (byOutputs = new Map()));
    const key = outputs.join(',');
    let e = byOutputs.get(key);
    if (e === undefined) {
      e = buildPlan(this.host, g, outputs).then((plan) => {
        const sizes = plan.outputs.map((o) => o.shape.reduce((a, b) => a * b, 1));
        return { plan, sizes, readbacks: new Map(), topk: new Map() };
      });
      byOutputs.set(key, e);
      e.catch(() => byOutputs.delete(key));
    }
    return e;
  }

  private readbackBuffer(bytes: number): Readback {
    const room = this.caps.timestampQuery ? tsOffset(bytes) - bytes + TS_PAIRS * 16 : 0;
    const buf = this.device.createBuffer({ label: 'readback', size: Math.max(16, bytes + room), usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    this.extra.push(buf);
    return { buf, bytes };
  }

  private async argmaxFor(plan: Plan): Promise<NonNullable<PlanEntry['argmax']>> {
    const out = plan.outputs[0]!;
    const n = out.shape[0]!;
    const cols = out.shape.slice(1).reduce((a, b) => a * b, 1);
    const ids = this.device.createBuffer({ label: 'argmax', size: Math.max(16, cols * 4), usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
    this.extra.push(ids);
    const { steps } = await prepareSteps(this.device, this.pipelines, [{ kernel: { variant: 'argmax_f32', shader: 'argmax.wgsl', layout: 'rwu' }, buffers: [out.buf, ids], params: new Params().u(n).u(cols), grid: [cols, 1, 1] }], this.caps.minUniformOffsetAlign, 'argmax');
    return { step: steps[0]!, ids, readback: this.readbackBuffer(cols * 4) };
  }

  /**
   * Checks the host inputs and writes them (ids, rope angles, external values) to the plan's buffers; externals
   * in `onDevice` were recorded as copies from values kept on the GPU.
   */
  private writeInputs(p: Plan, inputs: RunInputs, onDevice: ReadonlySet<number>): void {
    this.checkLost();
    const nt = inputs.tokens.length;
    if (p.tokens !== undefined || p.positions !== undefined) {
      if (nt !== inputs.positions.length) throw new EngineError('bad_argument', `${nt} tokens but ${inputs.positions.length} positions`);
    }
    for (const limit of p.vocabLimits) {
      for (const id of inputs.tokens) if (id < 0 || id >= limit) throw new EngineError('bad_argument', `token id ${id} is outside the vocabulary (${limit} tokens)`);
    }
    if (p.usesPositions) {
      for (const pos of inputs.positions) if (pos < 0 || pos >= this.opts.nCtx) throw new EngineError('bad_argument', `position ${pos} is past the context size ${this.opts.nCtx}; start a new conversation or raise --ctx`);
    }
    const q = this.device.queue;
    if (p.tokens !== undefined) q.writeBuffer(p.tokens, 0, Int32Array.from(inputs.tokens));
    if (p.positions !== undefined) q.writeBuffer(p.positions, 0, Int32Array.from(inputs.positions));
    for (const r of p.ropes) q.writeBuffer(r.buf, 0, ropeTableValues(inputs.positions, r.p));
    for (const x of p.externals) {
      if (onDevice.has(x.id)) continue;
      const v = inputs.externals?.get(x.id);
      if (v === undefined || v.length !== x.floats) throw new EngineError('bad_argument', `external node ${x.id} needs ${x.floats} values, got ${v?.length ?? 'none'}`);
      // writeBuffer copies at the call, so no JS copy per run (hand-offs are read-back or wasm slices: plain buffers)
      q.writeBuffer(x.buf, 0, v as Float32Array<ArrayBuffer>);
    }
  }

  /**
   * Records one command buffer: copies of the device externals, (poison,) the graph and the tail's steps in one
   * timed pass, the copies into the readback (with the timestamps of runs submitted so far) and of kept values.
   */
  private record(e: PlanEntry, deviceExternals: RunInputs['deviceExternals'], tail: Tail): Recorded {
    this.checkLost();
    const t0 = performance.now();
    const p = e.plan;
    const enc = this.device.createCommandEncoder({ label: 'run' });
    const onDevice = new Set<number>();
    for (const x of p.externals) {
      const d = deviceExternals?.get(x.id);
      if (d === undefined) continue;
      if (!(d instanceof GpuValue) || d.owner !== this || !d.live) throw new EngineError('bad_argument', `external node ${x.id}: the device value given is not a live value of this GPU executor`);
      if (d.floats !== x.floats) throw new EngineError('bad_argument', `external node ${x.id} needs ${x.floats} values, got ${d.floats}`);
      enc.copyBufferToBuffer(d.buf, 0, x.buf, 0, x.floats * 4);
      onDevice.add(x.id);
    }
    const ts = this.timestamps();
    const slot = ts?.free.pop() ?? -1;
    const pass = enc.beginComputePass(slot >= 0 ? { label: 'graph', timestampWrites: { querySet: ts!.qs, beginningOfPassWriteIndex: 2 * slot, endOfPassWriteIndex: 2 * slot + 1 } } : { label: 'graph' });
    if (this.opts.poison === true) encodeSteps(pass, p.poison);
    encodeSteps(pass, p.steps);
    encodeSteps(pass, tail.steps);
    pass.end();
    let off = 0;
    for (const [buf, bytes] of tail.copies) {
      enc.copyBufferToBuffer(buf, 0, tail.readback.buf, off, bytes);
      off += bytes;
    }
    for (const [from, to, bytes] of tail.keep ?? []) enc.copyBufferToBuffer(from, 0, to, 0, bytes);
    // Its own pair and those of runs already submitted (this command buffer runs after them): all written by then.
    const collect = tail.copies.length > 0 && ts !== undefined ? [...ts.submitted.splice(0), ...(slot >= 0 ? [slot] : [])] : [];
    if (collect.length > 0) {
      enc.resolveQuerySet(ts!.qs, 0, 2 * TS_PAIRS, ts!.resolve, 0);
      enc.copyBufferToBuffer(ts!.resolve, 0, tail.readback.buf, tsOffset(tail.readback.bytes), 16 * TS_PAIRS);
    }
    return { e, tail, cmd: enc.finish(), onDevice, slot, collect, encodeMs: performance.now() - t0 };
  }

  /** Writes the host inputs, submits a recorded command buffer and reads its readback (if it has copies). */
  private async submitRecorded(r: Recorded, inputs: RunInputs): Promise<ArrayBuffer> {
    const t0 = performance.now();
    try {
      this.writeInputs(r.e.plan, inputs, r.onDevice);
    } catch (err) {
      this.dropRecorded(r);
      throw err;
    }
    this.device.queue.submit([r.cmd]);
    if (r.slot >= 0 && !r.collect.includes(r.slot)) this.ts!.submitted.push(r.slot);
    const t1 = performance.now();
    const out = r.tail.copies.length > 0 ? await this.read(r.tail.readback, r.collect) : new ArrayBuffer(0);
    const c = this.counters;
    c.runs++;
    c.dispatches += r.e.plan.steps.length + r.tail.steps.length;
    c.encodeMs += r.encodeMs + t1 - t0;
    c.waitMs += performance.now() - t1;
    return out;
  }

  /** A recorded command buffer that will not be submitted: its timestamp slots go back. */
  private dropRecorded(r: Recorded): void {
    if (r.slot >= 0) this.ts!.free.push(r.slot);
    this.ts?.submitted.push(...r.collect.filter((i) => i !== r.slot)); // written; a later read-back collects them
  }

  private submit(e: PlanEntry, inputs: RunInputs, tail: Tail): Promise<ArrayBuffer> {
    return this.submitRecorded(this.record(e, inputs.deviceExternals, tail), inputs);
  }

  /** The query set runs write their pass's begin/end into, when the device has timestamp queries. */
  private timestamps(): Timestamps | undefined {
    if (!this.caps.timestampQuery) return undefined;
    if (this.ts === undefined) {
      const resolve = this.device.createBuffer({ label: 'timestamps', size: TS_PAIRS * 16, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
      this.extra.push(resolve);
      this.ts = { qs: this.device.createQuerySet({ label: 'runs', type: 'timestamp', count: 2 * TS_PAIRS }), resolve, free: Array.from({ length: TS_PAIRS }, (_, i) => i), submitted: [] };
    }
    return this.ts;
  }

  /** Maps a readback and returns its outputs; the timestamp pairs of `collect` after them go to the counters. */
  private async read(r: Readback, collect: readonly number[] = []): Promise<ArrayBuffer> {
    try {
      await r.buf.mapAsync(MapMode.READ);
    } catch (err) {
      // A lost device fails pending maps; its lost promise may settle a moment later.
      const why = this.lost ?? (await Promise.race([this.device.lost.then((i) => i.message || String(i.reason)), new Promise<undefined>((res) => setTimeout(res, 50))]));
      if (why !== undefined) throw deviceLost(why);
      throw gpuFailure(`reading results back failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const out = r.buf.getMappedRange(0, r.bytes).slice(0);
    if (collect.length > 0) {
      const t = new BigInt64Array(r.buf.getMappedRange(tsOffset(r.bytes), 16 * TS_PAIRS).slice(0));
      for (const i of collect) {
        const ns = Number(t[2 * i + 1]! - t[2 * i]!);
        if (ns > 0) {
          this.counters.gpuMs += ns / 1e6;
          this.counters.timedRuns++;
        }
      }
      this.ts!.free.push(...collect);
    }
    r.buf.unmap();
    return out;
  }

  private kvCache(layer: number, which: 'k' | 'v', rowFloats: number): GPUBuffer {
    const key = `${layer}:${which}`;
    let b = this.kv.get(key);
    const bytes = rowFloats * this.opts.nCtx * 4;
    if (b !== undefined && b.size !== Math.max(16, bytes)) throw graphInvalid(`layer ${layer} ${which} cache holds rows of another size than this graph's attention`);
    if (b === undefined) {
      if (bytes > this.deviceMaxBinding) throw unsupported(`layer ${layer} ${which} cache (${bytes} bytes for ${this.opts.nCtx} positions) exceeds the binding limit; lower the context size`);
      b = this.device.createBuffer({ label: `kv_${layer}_${which}`, size: Math.max(16, bytes), usage: BufferUsage.STORAGE | BufferUsage.COPY_DST });
      this.kv.set(key, b);
    }
    return b;
  }
}
