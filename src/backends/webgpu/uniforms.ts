// Kernel parameters: a Params record per dispatch (u32/i32/f32 fields in WGSL struct order), packed at aligned
// offsets into one uniform buffer per graph plan, written once when the plan is built (shapes are static;
// per-run values such as positions live in storage buffers).
import { BufferUsage } from './gpu-flags.ts';

export class Params {
  private readonly words: number[] = [];
  private readonly kinds: ('u' | 'i' | 'f')[] = [];

  u(v: number): this {
    this.words.push(v >>> 0);
    this.kinds.push('u');
    return this;
  }
  i(v: number): this {
    this.words.push(v | 0);
    this.kinds.push('i');
    return this;
  }
  f(v: number): this {
    this.words.push(v);
    this.kinds.push('f');
    return this;
  }

  /** Struct bytes, padded to 16 as uniform structs are. */
  bytes(): Uint8Array {
    const n = Math.max(4, Math.ceil(this.words.length / 4) * 4);
    const buf = new ArrayBuffer(n * 4);
    const dv = new DataView(buf);
    this.words.forEach((w, k) => {
      const kind = this.kinds[k]!;
      if (kind === 'f') dv.setFloat32(4 * k, w, true);
      else if (kind === 'i') dv.setInt32(4 * k, w, true);
      else dv.setUint32(4 * k, w, true);
    });
    return new Uint8Array(buf);
  }
}

export class UniformArena {
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;

  constructor(private readonly align: number) {}

  /** Reserves a slice for `p`; returns its offset and size in the arena buffer. */
  add(p: Params): { offset: number; size: number } {
    const b = p.bytes();
    const offset = this.bytes;
    this.chunks.push(b);
    this.bytes = offset + Math.ceil(b.length / this.align) * this.align;
    return { offset, size: b.length };
  }

  /** The arena's buffer with every slice written (undefined when no kernel took parameters). */
  upload(device: GPUDevice, label: string): GPUBuffer | undefined {
    if (this.bytes === 0) return undefined;
    const data = new Uint8Array(this.bytes);
    let off = 0;
    for (const c of this.chunks) {
      data.set(c, off);
      off += Math.ceil(c.length / this.align) * this.align;
    }
    const buf = device.createBuffer({ label, size: this.bytes, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    device.queue.writeBuffer(buf, 0, data);
    return buf;
  }
}
