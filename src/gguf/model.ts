// A GGUF model as one object, whether it is one file or split into `NAME-0000i-of-0000N.gguf` shards
// (llama.cpp gguf-split: `split.count`, `split.no`, `split.tensors.count`). Tensor bytes are read lazily by range.
import type { ByteSource } from '../core/byte-source.ts';
import { EngineError } from '../core/errors.ts';
import { mdNumber, type Metadata } from './metadata.ts';
import { readGGUF } from './reader.ts';
import type { GGUFFile, GGUFTensorInfo } from './types.ts';

const SPLIT_RE = /-(\d{5})-of-(\d{5})\.gguf$/;

export interface TensorRef {
  readonly info: GGUFTensorInfo;
  readonly file: GGUFFile;
}

export class GGUFModel {
  readonly tensors: ReadonlyMap<string, TensorRef>;

  constructor(readonly files: readonly GGUFFile[]) {
    const m = new Map<string, TensorRef>();
    for (const file of files) {
      for (const info of file.tensors) {
        if (m.has(info.name)) {
          throw new EngineError('gguf_invalid', `tensor ${info.name} appears in two split files`, { file: file.source.name, tensor: info.name });
        }
        m.set(info.name, { info, file });
      }
    }
    this.tensors = m;
  }

  /** Metadata of the first file (llama.cpp keeps the model's keys there; other shards carry split.* only). */
  get metadata(): Metadata {
    return this.files[0]!.metadata;
  }

  get name(): string {
    return this.files[0]!.source.name;
  }

  tensor(name: string): TensorRef {
    const t = this.tensors.get(name);
    if (t === undefined) throw new EngineError('model_invalid', `tensor ${name} is missing from the model`, { file: this.name, tensor: name });
    return t;
  }

  /** Reads `length` bytes of a tensor starting `offset` bytes into its data. */
  async readTensor(name: string, offset = 0, length?: number): Promise<Uint8Array> {
    const { info, file } = this.tensor(name);
    const len = length ?? info.nBytes - offset;
    if (offset < 0 || len < 0 || offset + len > info.nBytes) {
      throw new EngineError('bad_argument', `range ${offset}+${len} is outside tensor ${name} (${info.nBytes} bytes)`, { tensor: name });
    }
    return file.source.read(info.fileOffset + offset, len);
  }

  async close(): Promise<void> {
    for (const f of this.files) await f.source.close?.();
  }
}

/** Names of all shards when `name` is the first of a split (`-00001-of-0000N.gguf`), else undefined. */
export function splitShardNames(name: string): string[] | undefined {
  const m = SPLIT_RE.exec(name);
  if (m === null) return undefined;
  const count = Number(m[2]);
  const prefix = name.slice(0, m.index);
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(5, '0')}-of-${m[2]}.gguf`);
}

/**
 * Opens a model from its first (or only) file. `openShard` opens sibling shards by name; the faces (CLI, pages)
 * pass a function over the file system or a set of picked Files.
 */
export async function openGGUF(first: ByteSource, openShard?: (name: string) => Promise<ByteSource>): Promise<GGUFModel> {
  const f0 = await readGGUF(first);
  const count = f0.metadata.has('split.count') ? mdNumber(f0.metadata, 'split.count', first.name) : 1;
  if (count <= 1) return new GGUFModel([f0]);
  const no = mdNumber(f0.metadata, 'split.no', first.name, 0);
  const names = splitShardNames(first.name);
  if (no !== 0 || names === undefined || names.length !== count) {
    throw new EngineError('bad_argument', `this is shard ${no + 1} of a ${count}-part split model; open the first part, named like NAME-00001-of-${String(count).padStart(5, '0')}.gguf`, { file: first.name });
  }
  if (openShard === undefined) {
    throw new EngineError('bad_argument', `split model with ${count} parts but no way to open the other parts was given`, { file: first.name });
  }
  const files: GGUFFile[] = [f0];
  for (let i = 1; i < count; i++) {
    const f = await readGGUF(await openShard(names[i]!));
    const n = mdNumber(f.metadata, 'split.no', f.source.name, -1);
    if (n !== i) throw new EngineError('gguf_invalid', `split.no is ${n}, expected ${i}; the shards do not belong together`, { file: f.source.name, key: 'split.no' });
    files.push(f);
  }
  const model = new GGUFModel(files);
  const expected = f0.metadata.has('split.tensors.count') ? mdNumber(f0.metadata, 'split.tensors.count', first.name) : model.tensors.size;
  if (expected !== model.tensors.size) {
    throw new EngineError('gguf_invalid', `split.tensors.count says ${expected} tensors but the ${count} shards hold ${model.tensors.size}; a shard is missing or stale`, { file: first.name, key: 'split.tensors.count' });
  }
  return model;
}
