// ByteSource over a Blob or File (browser file pickers, drag and drop, OPFS files; Node's fs.openAsBlob).
// Blob.slice is lazy, so only the requested range is ever read into memory.
import type { ByteSource } from '../core/byte-source.ts';
import { EngineError } from '../core/errors.ts';

export class BlobSource implements ByteSource {
  readonly name: string;
  constructor(
    private readonly blob: Blob,
    name?: string,
  ) {
    this.name = name ?? ('name' in blob && typeof blob.name === 'string' ? blob.name : 'blob.gguf');
  }

  get size(): number {
    return this.blob.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.blob.size) {
      throw new EngineError('gguf_truncated', `read of ${length} bytes at ${offset} is past the end (${this.blob.size} bytes)`, { file: this.name, offset });
    }
    try {
      return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
    } catch (e) {
      // A File whose underlying disk file changed or vanished after picking rejects with NotReadableError.
      throw new EngineError('io', `cannot read ${this.name}: ${e instanceof Error ? e.message : String(e)}; pick the file again`, { file: this.name, offset });
    }
  }
}
