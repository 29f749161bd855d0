// GPU memory: weights uploaded once as raw GGUF bytes, split into several buffers when larger than the binding
// limit (each segment holds whole units: rows of a 2D weight, whole matrices of a 3D one), and a pool of
// activation buffers in power-of-two size classes shared by every graph plan of an executor (runs never overlap).
import type { WeightData } from '../../graph/executor.ts';
import { rowBytes } from '../../quant/registry.ts';
import { unsupported } from './errors.ts';
import { BufferUsage } from './gpu-flags.ts';

/** Bytes after each weight segment so that funnelled 32-bit reads at the last block stay inside the buffer. */
export const WEIGHT_PAD = 16;

export interface WeightSegment {
  readonly buffer: GPUBuffer;
  /** First unit (row, or matrix for 3D weights) held and how many. */
  readonly first: number;
  readonly count: number;
}

export interface GpuWeight {
  readonly name: string;
  readonly type: number;
  /** ggml order. */
  readonly dims: readonly number[];
  readonly rowBytes: number;
  /** Rows per unit: 1 for 2D weights, dims[1] (one matrix) for 3D ones. */
  readonly unitRows: number;
  readonly segments: readonly WeightSegment[];
}

const round = (n: number, a: number): number => Math.ceil(n / a) * a;

export function uploadWeight(device: GPUDevice, name: string, w: WeightData, maxBinding: number): GpuWeight {
  const rb = rowBytes(w.type, w.dims[0]!);
  const rows = w.dims.slice(1).reduce((a, b) => a * b, 1);
  const unitRows = w.dims.length >= 3 ? w.dims[1]! : 1;
  const units = rows / unitRows;
  const unitBytes = rb * unitRows;
  const perSeg = Math.max(0, Math.floor((Math.min(maxBinding, 2 ** 31) - WEIGHT_PAD) / unitBytes));
  if (perSeg === 0) throw unsupported(`tensor ${name}: one ${unitRows > 1 ? 'matrix' : 'row'} (${unitBytes} bytes) exceeds the binding limit of ${maxBinding} bytes`, name);
  const segments: WeightSegment[] = [];
  for (let first = 0; first < units; first += perSeg) {
    const count = Math.min(perSeg, units - first);
    const bytes = w.bytes.subarray(first * unitBytes, (first + count) * unitBytes);
    const buffer = device.createBuffer({ label: segments.length === 0 ? name : `${name}#${segments.length}`, size: round(bytes.length + WEIGHT_PAD, 16), usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC, mappedAtCreation: true });
    new Uint8Array(buffer.getMappedRange()).set(bytes);
    buffer.unmap();
    segments.push({ buffer, first, count });
  }
  return { name, type: w.type, dims: w.dims, rowBytes: rb, unitRows, segments };
}

/** Size class of an activation of `bytes` bytes: powers of two from 256. */
export function sizeClass(bytes: number): number {
  return Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(1, bytes))));
}

/** Physical activation buffers: class → list; plans address them as (class, index). */
export class BufferPool {
  private readonly classes = new Map<number, GPUBuffer[]>();

  constructor(private readonly device: GPUDevice) {}

  get(size: number, index: number): GPUBuffer {
    let list = this.classes.get(size);
    if (list === undefined) this.classes.set(size, (list = []));
    while (list.length <= index) {
      list.push(this.device.createBuffer({ label: `act_${size}_${list.length}`, size, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST }));
    }
    return list[index]!;
  }

  /** Bytes of the activation buffers created so far. */
  bytes(): number {
    let n = 0;
    for (const [size, list] of this.classes) n += size * list.length;
    return n;
  }

  destroy(): void {
    for (const list of this.classes.values()) for (const b of list) b.destroy();
    this.classes.clear();
  }
}

/** Liveness-driven slots over a BufferPool: a released slot is reused by a later node of the same class. */
export class SlotAllocator {
  private readonly free = new Map<number, number[]>();
  private readonly next = new Map<number, number>();

  alloc(bytes: number): { size: number; index: number } {
    const size = sizeClass(bytes);
    const f = this.free.get(size);
    if (f !== undefined && f.length > 0) return { size, index: f.pop()! };
    const index = this.next.get(size) ?? 0;
    this.next.set(size, index + 1);
    return { size, index };
  }

  release(s: { size: number; index: number }): void {
    let f = this.free.get(s.size);
    if (f === undefined) this.free.set(s.size, (f = []));
    f.push(s.index);
  }
}

/**
 * Buffers holding values handed from one run to a later one on the GPU (hybrid segments): taken by the producing
 * run, given back when the consumers have been submitted. Queue order makes reuse safe: a later writer is
 * submitted after the last reader.
 */
export class HandoffPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly all: GPUBuffer[] = [];

  constructor(private readonly device: GPUDevice) {}

  take(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const b = this.free.get(size)?.pop();
    if (b !== undefined) return b;
    const nb = this.device.createBuffer({ label: `handoff_${size}`, size, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST });
    this.all.push(nb);
    return nb;
  }

  give(b: GPUBuffer): void {
    let f = this.free.get(b.size);
    if (f === undefined) this.free.set(b.size, (f = []));
    f.push(b);
  }

  bytes(): number {
    return this.all.reduce((a, b) => a + b.size, 0);
  }

  destroy(): void {
    for (const b of this.all) b.destroy();
    this.all.length = 0;
    this.free.clear();
  }
}
