// Weights on the GPU, in the two forms op encoders read: raw GGUF blocks (matrix operands, embedding tables,
// expert tensors; split over several buffers past the binding limit) and f32 values (norm weights, biases and
// anything else an op reads as an activation). A weight is either loaded ahead by load() (read once from an async
// source, JS bytes dropped) or fetched on first use through the executor's synchronous callback.
import { GGMLType } from '../../core/ggml-type.ts';
import type { WeightData } from '../../graph/executor.ts';
import type { Graph } from '../../graph/graph.ts';
import { quantTraits } from '../../quant/registry.ts';
import { uploadWeight, type GpuWeight } from './buffers.ts';
import { unsupported } from './errors.ts';
import { BufferUsage } from './gpu-flags.ts';

/**
 * Bytes uploaded between two waits for the queue: a mapped-at-creation upload goes through a host staging copy that
 * Dawn frees only once the GPU has copied it, so without waiting every staging copy of the model would be alive at
 * once (the process's peak memory grew by the GPU's weight bytes on the H100 machine).
 */
const SETTLE_BYTES = 256 * 2 ** 20;

export interface WeightForms {
  raw: boolean;
  f32: boolean;
}

/** Sources each op encoder reads through OpContext.matrix(); every other weight source goes through act() (f32). */
const MATRIX_SOURCES: Readonly<Partial<Record<Graph['nodes'][number]['spec']['op'], readonly number[]>>> = {
  get_rows: [0],
  mul_mat: [0],
  mul_mat_heads: [0],
  moe_experts: [2, 3, 4],
};

/** The forms in which a plan of `g` will ask for each weight (reshapes are views: their readers decide). */
export function weightForms(g: Graph): Map<string, WeightForms> {
  const out = new Map<string, WeightForms>();
  const weightOf = (id: number): string | undefined => {
    let n = g.nodes[id]!;
    while (n.spec.op === 'reshape') n = g.nodes[n.src[0]!]!;
    return n.spec.op === 'weight' ? n.spec.name : undefined;
  };
  for (const n of g.nodes) {
    if (n.spec.op === 'reshape') continue;
    const matrix = MATRIX_SOURCES[n.spec.op] ?? [];
    n.src.forEach((s, i) => {
      const name = weightOf(s);
      if (name === undefined) return;
      const f = out.get(name) ?? { raw: false, f32: false };
      if (matrix.includes(i)) f.raw = true;
      else f.f32 = true;
      out.set(name, f);
    });
  }
  return out;
}

export class WeightStore {
  private readonly raws = new Map<string, GpuWeight>();
  private readonly f32s = new Map<string, GPUBuffer>();

  constructor(
    private readonly device: GPUDevice,
    private readonly getWeight: (name: string) => WeightData,
    /** Weights are split at this many bytes (a test may force it below the device's limit). */
    private readonly splitBytes: number,
    /** The device's real binding limit (an f32 copy must fit one binding). */
    private readonly deviceMaxBinding: number,
  ) {}

  /** Buffers a raw weight was split into (0 when not resident). */
  segmentsOf(name: string): number {
    return this.raws.get(name)?.segments.length ?? 0;
  }

  has(name: string, f: WeightForms): boolean {
    return (!f.raw || this.raws.has(name)) && (!f.f32 || this.f32s.has(name));
  }

  raw(name: string): GpuWeight {
    let w = this.raws.get(name);
    if (w === undefined) {
      w = uploadWeight(this.device, name, this.getWeight(name), this.splitBytes);
      this.raws.set(name, w);
    }
    return w;
  }

  f32(name: string): GPUBuffer {
    return this.f32s.get(name) ?? this.putF32(name, this.getWeight(name));
  }

  /**
   * Reads every weight of `g` not resident in the forms g's plans need (once each, in graph order) and uploads it;
   * the JS bytes are not kept. Graphs of the same model with other token counts, and its segment graphs, read the
   * same weights in the same forms, so they run without the callback afterwards.
   */
  async load(g: Graph, read: (name: string) => Promise<WeightData>, onProgress?: (bytes: number) => void): Promise<void> {
    let unsettled = 0;
    const settle = async (): Promise<void> => {
      this.device.queue.submit([]); // flushes the pending staging copies
      await this.device.queue.onSubmittedWorkDone();
      unsettled = 0;
    };
    for (const [name, f] of weightForms(g)) {
      if (this.has(name, f)) continue;
      const d = await read(name);
      if (f.raw && !this.raws.has(name)) this.raws.set(name, uploadWeight(this.device, name, d, this.splitBytes));
      if (f.f32 && !this.f32s.has(name)) this.putF32(name, d);
      onProgress?.(d.bytes.length);
      if ((unsettled += d.bytes.length) >= SETTLE_BYTES) await settle();
    }
    if (unsettled > 0) await settle();
  }

  /** Bytes of the weight buffers on the device (raw blocks and f32 copies). */
  bytes(): number {
    let n = 0;
    for (const w of this.raws.values()) for (const s of w.segments) n += s.buffer.size;
    for (const b of this.f32s.values()) n += b.size;
    return n;
  }

  destroy(): void {
    for (const w of this.raws.values()) for (const s of w.segments) s.buffer.destroy();
    for (const b of this.f32s.values()) b.destroy();
    this.raws.clear();
    this.f32s.clear();
  }

  private putF32(name: string, d: WeightData): GPUBuffer {
    const raw = this.raws.get(name);
    // An F32 weight already uploaded whole is its own f32 form.
    if (d.type === GGMLType.F32 && raw?.segments.length === 1) {
      this.f32s.set(name, raw.segments[0]!.buffer);
      return raw.segments[0]!.buffer;
    }
    const n = d.dims.reduce((a, c) => a * c, 1);
    if (n * 4 > this.deviceMaxBinding) throw unsupported(`tensor ${name} is read as values but its f32 form exceeds the binding limit`, name);
    const b = this.device.createBuffer({ label: `${name}_f32`, size: Math.max(16, n * 4), usage: BufferUsage.STORAGE, mappedAtCreation: true });
    const dst = new Float32Array(b.getMappedRange(0, n * 4));
    // Small tensors read as values (norm weights, biases) in another type are dequantized once here.
    if (d.type === GGMLType.F32) dst.set(new Float32Array(d.bytes.buffer.slice(d.bytes.byteOffset, d.bytes.byteOffset + n * 4)));
    else quantTraits(d.type, name).dequantizeRow(d.bytes, dst, n);
    b.unmap();
    this.f32s.set(name, b);
    return b;
  }
}
