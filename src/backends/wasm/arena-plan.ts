// Offsets of a program's buffers inside one activation arena: first fit over freed intervals, so buffers whose
// lifetimes do not overlap share bytes. The arena size is the peak.
interface Interval {
  off: number;
  size: number;
}

export class ArenaPlan {
  private readonly free: Interval[] = [];
  private end = 0;
  private readonly sizes = new Map<number, number>();

  alloc(bytes: number): number {
    const size = Math.ceil(Math.max(bytes, 1) / 64) * 64;
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i]!;
      if (f.size < size) continue;
      const off = f.off;
      if (f.size === size) this.free.splice(i, 1);
      else {
        f.off += size;
        f.size -= size;
      }
      this.sizes.set(off, size);
      return off;
    }
    // extend the last free interval if it touches the end
    const last = this.free[this.free.length - 1];
    let off = this.end;
    if (last !== undefined && last.off + last.size === this.end) {
      off = last.off;
      this.free.pop();
    }
    this.end = off + size;
    this.sizes.set(off, size);
    return off;
  }

  release(off: number): void {
    const size = this.sizes.get(off);
    if (size === undefined) return;
    this.sizes.delete(off);
    let i = this.free.findIndex((f) => f.off > off);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, { off, size });
    const next = this.free[i + 1];
    if (next !== undefined && off + size === next.off) {
      this.free[i]!.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev !== undefined && prev.off + prev.size === off) {
      prev.size += this.free[i]!.size;
      this.free.splice(i, 1);
    }
  }

  get peak(): number {
    return this.end;
  }
}
