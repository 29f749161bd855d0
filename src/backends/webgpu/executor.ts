// WebGpuExecutor: runs a Graph entirely on the GPU. Weights are uploaded once as their GGUF bytes (no
// requantization) when a graph first needs them; each Graph object gets a plan (buffers, pipelines, bind groups)
// on first run; a run writes the inputs, records the whole plan into one command buffer and reads back only the
// output (or, for greedy decoding, only the argmax ids). The KV cache stays on the GPU between runs.
import { EngineError } from '../../core/errors.ts';
import { GGMLType } from '../../core/ggml-type.ts';
import type { GraphExecutor, RunInputs, WeightData } from '../../graph/executor.ts';
import type { Graph } from '../../graph/graph.ts';
import { quantTraits } from '../../quant/registry.ts';
import { BufferPool, uploadWeight, type GpuWeight } from './buffers.ts';
import type { GpuCaps, GpuContext } from './device.ts';
import { encodeSteps, prepareSteps, type PreparedStep } from './dispatch.ts';
import { gpuFailure, unsupported } from './errors.ts';
import type { MatvecTuning } from './ops/context.ts';
import { ropeTableValues } from './ops/rope.ts';
import { PipelineCache } from './pipeline-cache.ts';
import { buildPlan, type Plan, type PlanHost } from './plan.ts';
import { Params } from './uniforms.ts';
import type { ShaderLibrary } from './wgsl-pre.ts';
import { BufferUsage, MapMode } from './gpu-flags.ts';

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

interface Readback {
  readonly buf: GPUBuffer;
  readonly bytes: number;
}

interface PlanEntry {
  readonly plan: Plan;
  /** All outputs back to back (floats). */
  readonly readback: Readback;
  readonly sizes: readonly number[];
  argmax?: { readonly step: PreparedStep; readonly ids: GPUBuffer; readonly readback: Readback };
}

export class WebGpuExecutor implements GraphExecutor {
  private readonly device: GPUDevice;
  private readonly caps: GpuCaps;
  private readonly host: PlanHost;
  private readonly pipelines: PipelineCache;
  private readonly pool: BufferPool;
  private readonly weights = new Map<string, GpuWeight>();
  private readonly weightsF32 = new Map<string, GPUBuffer>();
  private readonly kv = new Map<string, GPUBuffer>();
  private readonly plans = new WeakMap<Graph, Map<string, Promise<PlanEntry>>>();
  private queue: Promise<unknown> = Promise.resolve();
  private lost: string | undefined;
  /** The device's real binding limit (opts.maxBindingBytes only narrows how weights are split). */
  private readonly deviceMaxBinding: number;

  constructor(
    ctx: GpuContext,
    private readonly getWeight: (name: string) => WeightData,
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
      this.lost = info.message;
    });
    this.pipelines = new PipelineCache(this.device, opts.shaders);
    this.pool = new BufferPool(this.device);
    this.host = {
      device: this.device,
      caps: this.caps,
      lib: opts.shaders,
      pipelines: this.pipelines,
      pool: this.pool,
      nCtx: opts.nCtx,
      matvec: opts.matvec ?? {},
      weight: (name) => this.weight(name),
      weightF32: (name) => this.weightF32(name),
      kvCache: (layer, which, rowFloats) => this.kvCache(layer, which, rowFloats),
    };
  }

  get capabilities(): GpuCaps {
    return this.caps;
  }

  /** Buffers a weight was split into (tests). */
  segmentsOf(name: string): number {
    return this.weights.get(name)?.segments.length ?? 0;
  }

  /** Number of compiled pipeline variants (tests check plans reuse them). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  resetCache(): void {
    // Attention reads only positions 0..pos of the current sequence, all rewritten by it: nothing to clear.
  }

  run(g: Graph, inputs: RunInputs): Promise<Float32Array> {
    return this.runMany(g, inputs, [g.output]).then((r) => r[0]!);
  }

  /** Values of several nodes (hybrid segments hand more than one value on); each read back once per run. */
  runMany(g: Graph, inputs: RunInputs, outputs: readonly number[]): Promise<Float32Array[]> {
    return this.serial(async () => {
      const e = await this.entry(g, outputs);
      this.submit(e, inputs, false);
      const all = new Float32Array(await this.read(e.readback));
      let off = 0;
      return e.sizes.map((n) => all.slice(off, (off += n)));
    });
  }

  /** Greedy decoding: the argmax of each output column (ties to the lower index); only the ids are read back. */
  runArgmax(g: Graph, inputs: RunInputs): Promise<Int32Array> {
    return this.serial(async () => {
      const e = await this.entry(g, [g.output]);
      const a = (e.argmax ??= await this.argmaxFor(e.plan));
      this.submit(e, inputs, true);
      return new Int32Array(await this.read(a.readback));
    });
  }

  /**
   * Benchmarks: replays the graph `reps` times in one compute pass and returns the GPU time of the pass in ns
   * from timestamp queries (undefined when the device has none; then time submit → done on the caller's clock).
   */
  profile(g: Graph, inputs: RunInputs, reps: number): Promise<number | undefined> {
    return this.serial(async () => {
      const e = await this.entry(g, [g.output]);
      this.writeInputs(e.plan, inputs);
      const qs = this.caps.timestampQuery ? this.device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
      const enc = this.device.createCommandEncoder({ label: 'profile' });
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

  destroy(): void {
    this.pool.destroy();
    for (const w of this.weights.values()) for (const s of w.segments) s.buffer.destroy();
    for (const b of this.weightsF32.values()) b.destroy();
    for (const b of this.kv.values()) b.destroy();
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const r = this.queue.then(f);
    this.queue = r.catch(() => undefined);
    return r;
  }

  private entry(g: Graph, outputs: readonly number[]): Promise<PlanEntry> {
    let byOutputs = this.plans.get(g);
    if (byOutputs === undefined) this.plans.set(g, (byOutputs = new Map()));
    const key = outputs.join(',');
    let e = byOutputs.get(key);
    if (e === undefined) {
      e = buildPlan(this.host, g, outputs).then((plan) => {
        const sizes = plan.outputs.map((o) => o.shape.reduce((a, b) => a * b, 1));
        return { plan, sizes, readback: this.readbackBuffer(sizes.reduce((a, b) => a + b, 0) * 4) };
      });
      byOutputs.set(key, e);
      e.catch(() => byOutputs.delete(key));
    }
    return e;
  }

  private readbackBuffer(bytes: number): Readback {
    return { buf: this.device.createBuffer({ label: 'readback', size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST }), bytes };
  }

  private async argmaxFor(plan: Plan): Promise<NonNullable<PlanEntry['argmax']>> {
    const out = plan.outputs[0]!;
    const n = out.shape[0]!;
    const cols = out.shape.slice(1).reduce((a, b) => a * b, 1);
    const ids = this.device.createBuffer({ label: 'argmax', size: Math.max(16, cols * 4), usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
    const { steps } = await prepareSteps(this.device, this.pipelines, [{ kernel: { variant: 'argmax_f32', shader: 'argmax.wgsl', layout: 'rwu' }, buffers: [out.buf, ids], params: new Params().u(n).u(cols), grid: [cols, 1, 1] }], this.caps.minUniformOffsetAlign, 'argmax');
    return { step: steps[0]!, ids, readback: this.readbackBuffer(cols * 4) };
  }

  /** Checks the inputs and writes them (ids, rope angles, external values) to the plan's buffers. */
  private writeInputs(p: Plan, inputs: RunInputs): void {
    if (this.lost !== undefined) throw gpuFailure(`the device was lost (${this.lost}); create a new executor`);
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
      const v = inputs.externals?.get(x.id);
      if (v === undefined || v.length !== x.floats) throw new EngineError('bad_argument', `external node ${x.id} needs ${x.floats} values, got ${v?.length ?? 'none'}`);
      q.writeBuffer(x.buf, 0, Float32Array.from(v));
    }
  }

  private submit(e: PlanEntry, inputs: RunInputs, argmax: boolean): void {
    const p = e.plan;
    this.writeInputs(p, inputs);
    const q = this.device.queue;
    const enc = this.device.createCommandEncoder({ label: 'run' });
    const pass = enc.beginComputePass({ label: 'graph' });
    if (this.opts.poison === true) encodeSteps(pass, p.poison);
    encodeSteps(pass, p.steps);
    if (argmax && e.argmax !== undefined) encodeSteps(pass, [e.argmax.step]);
    pass.end();
    if (argmax && e.argmax !== undefined) enc.copyBufferToBuffer(e.argmax.ids, 0, e.argmax.readback.buf, 0, e.argmax.readback.bytes);
    else {
      let off = 0;
      p.outputs.forEach((o, i) => {
        enc.copyBufferToBuffer(o.buf, 0, e.readback.buf, off, e.sizes[i]! * 4);
        off += e.sizes[i]! * 4;
      });
    }
    q.submit([enc.finish()]);
  }

  private async read(r: Readback): Promise<ArrayBuffer> {
    await r.buf.mapAsync(MapMode.READ);
    const out = r.buf.getMappedRange().slice(0);
    r.buf.unmap();
    return out;
  }

  private weight(name: string): GpuWeight {
    let w = this.weights.get(name);
    if (w === undefined) {
      w = uploadWeight(this.device, name, this.getWeight(name), this.caps.maxBindingBytes);
      this.weights.set(name, w);
    }
    return w;
  }

  private weightF32(name: string): GPUBuffer {
    let b = this.weightsF32.get(name);
    if (b === undefined) {
      const d = this.getWeight(name);
      const raw = this.weights.get(name);
      if (d.type === GGMLType.F32 && raw?.segments.length === 1) return raw.segments[0]!.buffer;
      const n = d.dims.reduce((a, c) => a * c, 1);
      if (n * 4 > this.deviceMaxBinding) throw unsupported(`tensor ${name} is read as values but its f32 form exceeds the binding limit`, name);
      // Small tensors read as values (norm weights, biases) in another type are dequantized once here.
      const f = new Float32Array(n);
      quantTraits(d.type, name).dequantizeRow(d.bytes, f, n);
      b = this.device.createBuffer({ label: `${name}_f32`, size: Math.max(16, n * 4), usage: BufferUsage.STORAGE, mappedAtCreation: true });
      new Float32Array(b.getMappedRange(0, n * 4)).set(f);
      b.unmap();
      this.weightsF32.set(name, b);
    }
    return b;
  }

  private kvCache(layer: number, which: 'k' | 'v', rowFloats: number): GPUBuffer {
    const key = `${layer}:${which}`;
    let b = this.kv.get(key);
    const bytes = rowFloats * this.opts.nCtx * 4;
    if (b !== undefined && b.size !== Math.max(16, bytes)) throw unsupported(`layer ${layer} ${which} cache holds rows of another size than this graph's attention`);
    if (b === undefined) {
      if (bytes > this.deviceMaxBinding) throw unsupported(`layer ${layer} ${which} cache (${bytes} bytes for ${this.opts.nCtx} positions) exceeds the binding limit; lower the context size`);
      b = this.device.createBuffer({ label: `kv_${layer}_${which}`, size: Math.max(16, bytes), usage: BufferUsage.STORAGE | BufferUsage.COPY_DST });
      this.kv.set(key, b);
    }
    return b;
  }
}
