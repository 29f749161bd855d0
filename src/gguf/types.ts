// In-memory description of a GGUF file: metadata with its value types (so a file round-trips exactly) and
// tensor infos. Tensor bytes are never held here; they are read by range from the ByteSource on demand.
import type { ByteSource } from '../core/byte-source.ts';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGML_MAX_DIMS = 4;

// gguf_type in gguf.h
export enum GGUFValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** Array values: numbers in a typed array of the item type, strings/bools in plain arrays, arrays nested. */
export interface GGUFArray {
  readonly itemType: GGUFValueType;
  readonly values:
    | Uint8Array
    | Int8Array
    | Uint16Array
    | Int16Array
    | Uint32Array
    | Int32Array
    | Float32Array
    | Float64Array
    | BigUint64Array
    | BigInt64Array
    | readonly boolean[]
    | readonly string[]
    | readonly GGUFArray[];
}

export type GGUFScalar = number | bigint | boolean | string;
export type GGUFValue = GGUFScalar | GGUFArray;

export interface GGUFEntry {
  readonly type: GGUFValueType;
  readonly value: GGUFValue;
}

export interface GGUFTensorInfo {
  readonly name: string;
  /** ggml order: dims[0] is the contiguous (fastest) dimension, e.g. [n_embd, n_vocab] for token_embd. */
  readonly dims: readonly number[];
  readonly type: number;
  /** Offset relative to the start of the tensor data section (as stored in the file). */
  readonly offset: number;
  /** Absolute byte offset in the file. */
  readonly fileOffset: number;
  readonly nElements: number;
  readonly nBytes: number;
}

export interface GGUFFile {
  readonly source: ByteSource;
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GGUFEntry>;
  readonly tensors: readonly GGUFTensorInfo[];
  readonly alignment: number;
  /** Absolute offset of the tensor data section. */
  readonly dataOffset: number;
}
