// The allocator of the shared wasm memory (the C side never allocates): first fit over a sorted free list with
// coalescing, growing the memory when nothing fits. Everything lives here: the control block, thread stacks,
// weights, KV caches, programs and activation arenas. Views are re-made after a grow (a grown SharedArrayBuffer
// is a new object; old views keep the old length).
import { EngineError } from '../../core/errors.ts';

const PAGE = 65536;
const MAX_PAGES = 65536; // wasm32: 4 GiB

interface Block {
  off: number;
  size: number;
}

export class WasmHeap {
  private readonly freeList: Block[] = [];
  private readonly used = new Map<number, number>();
  private top: number;
  private buf: SharedArrayBuffer | ArrayBuffer;
  private u8View: Uint8Array;
  private i32View: Int32Array;
  private f32View: Float32Array;
  private f64View: Float64Array;

  constructor(
    readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.buf = memory.buffer;
    this.top = this.buf.byteLength;
    const start = align(base, 64);
    if (start < this.top) this.freeList.push({ off: start, size: this.top - start });
    this.u8View = new Uint8Array(this.buf);
    this.i32View = new Int32Array(this.buf);
    this.f32View = new Float32Array(this.buf);
    this.f64View = new Float64Array(this.buf);
  }

  private refresh(): void {
    if (this.memory.buffer.byteLength === this.buf.byteLength) return;
    this.buf = this.memory.buffer;
    this.u8View = new Uint8Array(this.buf);
    this.i32View = new Int32Array(this.buf);
    this.f32View = new Float32Array(this.buf);
    this.f64View = new Float64Array(this.buf);
  }
  get u8(): Uint8Array {
    this.refresh();
    return this.u8View;
  }
  get i32(): Int32Array {
    this.refresh();
    return this.i32View;
  }
  get f32(): Float32Array {
    this.refresh();
    return this.f32View;
  }
  get f64(): Float64Array {
    this.refresh();
    return this.f64View;
  }

  /** Bytes in use (allocated blocks) and the memory size. */
  stats(): { used: number; memory: number } {
    let used = 0;
    for (const s of this.used.values()) used += s;
    return { used, memory: this.memory.buffer.byteLength };
  }

  alloc(bytes: number, alignment = 64): number {
    const size = align(Math.max(bytes, 1), 16);
    for (;;) {
      for (let i = 0; i < this.freeList.length; i++) {
        const b = this.freeList[i]!;
        const start = align(b.off, alignment);
        if (start + size > b.off + b.size) continue;
        const pre = start - b.off;
        const post = b.off + b.size - (start + size);
        const repl: Block[] = [];
        if (pre > 0) repl.push({ off: b.off, size: pre });
        if (post > 0) repl.push({ off: start + size, size: post });
        this.freeList.splice(i, 1, ...repl);
        this.used.set(start, size);
        return start;
      }
      this.grow(size + alignment);
    }
  }

  release(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) return;
    this.used.delete(ptr);
    let i = this.freeList.findIndex((b) => b.off > ptr);
    if (i < 0) i = this.freeList.length;
    this.freeList.splice(i, 0, { off: ptr, size });
    // coalesce with the neighbours
    const next = this.freeList[i + 1];
    if (next !== undefined && ptr + size === next.off) {
      this.freeList[i]!.size += next.size;
      this.freeList.splice(i + 1, 1);
    }
    const prev = this.freeList[i - 1];
    if (prev !== undefined && prev.off + prev.size === ptr) {
      prev.size += this.freeList[i]!.size;
      this.freeList.splice(i, 1);
    }
  }

  private grow(minBytes: number): void {
    const pages = this.top / PAGE;
    // geometric growth keeps the number of grows (and copies of views) small
    const want = Math.min(MAX_PAGES - pages, Math.max(Math.ceil(minBytes / PAGE), Math.ceil(pages / 4)));
    if (want <= 0 || pages + want < Math.ceil((this.top + minBytes) / PAGE)) {
      throw new EngineError('bad_argument', `the WASM backend needs ${Math.ceil(minBytes / 2 ** 20)} MiB more, beyond the 4 GiB of a wasm32 memory; put fewer tensors on the CPU`);
    }
    this.memory.grow(want);
    const oldTop = this.top;
    this.top = (pages + want) * PAGE;
    const last = this.freeList[this.freeList.length - 1];
    if (last !== undefined && last.off + last.size === oldTop) last.size += this.top - oldTop;
    else this.freeList.push({ off: oldTop, size: this.top - oldTop });
    this.refresh();
  }
}

export function align(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}
