// ByteSource/ByteSink over memory: tests, fuzzing and small generated models. No platform globals.
import type { ByteSink, ByteSource } from '../core/byte-source.ts';
import { EngineError } from '../core/errors.ts';

export class MemorySource implements ByteSource {
  constructor(
    readonly bytes: Uint8Array,
    readonly name = 'memory.gguf',
  ) {}
  get size(): number {
    return this.bytes.length;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) {
      return Promise.reject(new EngineError('gguf_truncated', `read of ${length} bytes at ${offset} is past the end (${this.bytes.length} bytes)`, { file: this.name, offset }));
    }
    return Promise.resolve(this.bytes.subarray(offset, offset + length));
  }
}

export class MemorySink implements ByteSink {
  private chunks: Uint8Array[] = [];
  private total = 0;
  constructor(readonly name = 'memory.gguf') {}
  write(chunk: Uint8Array): Promise<void> {
    this.chunks.push(chunk.slice());
    this.total += chunk.length;
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.total);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}
