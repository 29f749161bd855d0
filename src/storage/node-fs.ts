// Node file adapters: ranged reads through a FileHandle (never the whole file in memory; positions beyond 4 GiB
// work because Node takes a number position up to 2^53) and a buffered append-only sink for the GGUF writer.
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ByteSink, ByteSource } from '../core/byte-source.ts';
import { EngineError } from '../core/errors.ts';

export class NodeFileSource implements ByteSource {
  private constructor(
    private readonly fh: FileHandle,
    readonly name: string,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<NodeFileSource> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      throw new EngineError('io', `cannot open ${path}: ${code === 'ENOENT' ? 'no such file' : code}`, { file: path });
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new EngineError('io', `${path} is not a regular file`, { file: path });
    }
    return new NodeFileSource(fh, path, st.size);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new EngineError('gguf_truncated', `read of ${length} bytes at ${offset} is past the end (${this.size} bytes)`, { file: this.name, offset });
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(out, done, length - done, offset + done);
      if (bytesRead === 0) throw new EngineError('io', `file shrank while reading at ${offset + done}`, { file: this.name, offset: offset + done });
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Opens a GGUF shard next to `first` (split models name their parts by a shared prefix). */
export function siblingOpener(first: string): (name: string) => Promise<NodeFileSource> {
  const dir = dirname(first);
  return (name) => NodeFileSource.open(join(dir, basename(name)));
}

const SINK_BUFFER = 8 << 20;

export class NodeFileSink implements ByteSink {
  private buf: Uint8Array = new Uint8Array(SINK_BUFFER);
  private len = 0;
  private constructor(
    private readonly fh: FileHandle,
    readonly name: string,
  ) {}

  static async create(path: string): Promise<NodeFileSink> {
    try {
      return new NodeFileSink(await open(path, 'w'), path);
    } catch (e) {
      throw new EngineError('io', `cannot create ${path}: ${(e as NodeJS.ErrnoException).code ?? 'EIO'}`, { file: path });
    }
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.len + chunk.length > this.buf.length) await this.flush();
    if (chunk.length >= this.buf.length) {
      await this.fh.write(chunk);
      return;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
  }

  private async flush(): Promise<void> {
    if (this.len > 0) await this.fh.write(this.buf, 0, this.len);
    this.len = 0;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.fh.close();
  }
}
