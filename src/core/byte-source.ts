// The one interface every model byte goes through: ranged reads of a file-like object. Implementations live in
// storage/ (Blob/File for browsers, file handles for Node, in-memory for tests); lower layers only see this.
// Offsets are plain numbers: safe up to 2^53 bytes, so files far beyond 4 GiB work.
export interface ByteSource {
  /** A name for errors and logs (file name or path). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Reads exactly `length` bytes at `offset`; rejects with EngineError('gguf_truncated') past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close?(): Promise<void>;
}

/** A byte sink that accepts appended chunks (GGUF writer output). */
export interface ByteSink {
  readonly name: string;
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
