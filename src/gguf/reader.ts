// GGUF header parser (versions 2 and 3): metadata key/values of every type, tensor infos, alignment and the data
// offset. Validates everything a later ranged read relies on (bounds, alignment, overlap, type geometry), so
// that any malformed file fails here with a typed error naming the offset and what was being read.
import type { ByteSource } from '../core/byte-source.ts';
import { EngineError } from '../core/errors.ts';
import { GGML_TYPE_GEOMETRY, ggmlTypeName } from '../core/ggml-type.ts';
import { Cursor } from './cursor.ts';
import {
  GGML_MAX_DIMS,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUFValueType,
  type GGUFArray,
  type GGUFEntry,
  type GGUFFile,
  type GGUFTensorInfo,
  type GGUFValue,
} from './types.ts';

const MAX_ARRAY_DEPTH = 8;
const GGML_MAX_NAME = 64;
// Smallest encodings, used to bound counts by the bytes left: a kv is key length (8) + type (4) + 1 byte value;
// a tensor info is name length (8) + n_dims (4) + type (4) + offset (8).
const MIN_KV_BYTES = 13;
const MIN_TENSOR_INFO_BYTES = 24;

const SCALAR_BYTES: Partial<Record<GGUFValueType, number>> = {
  [GGUFValueType.UINT8]: 1,
  [GGUFValueType.INT8]: 1,
  [GGUFValueType.BOOL]: 1,
  [GGUFValueType.UINT16]: 2,
  [GGUFValueType.INT16]: 2,
  [GGUFValueType.UINT32]: 4,
  [GGUFValueType.INT32]: 4,
  [GGUFValueType.FLOAT32]: 4,
  [GGUFValueType.UINT64]: 8,
  [GGUFValueType.INT64]: 8,
  [GGUFValueType.FLOAT64]: 8,
  [GGUFValueType.STRING]: 8,
  [GGUFValueType.ARRAY]: 12,
};

function typeName(t: number): string {
  return GGUFValueType[t] ?? `#${t}`;
}

async function readScalar(c: Cursor, t: GGUFValueType, what: string): Promise<GGUFValue> {
  switch (t) {
    case GGUFValueType.UINT8:
      return c.u8(what);
    case GGUFValueType.INT8:
      return c.i8(what);
    case GGUFValueType.UINT16:
      return c.u16(what);
    case GGUFValueType.INT16:
      return c.i16(what);
    case GGUFValueType.UINT32:
      return c.u32(what);
    case GGUFValueType.INT32:
      return c.i32(what);
    case GGUFValueType.FLOAT32:
      return c.f32(what);
    case GGUFValueType.FLOAT64:
      return c.f64(what);
    case GGUFValueType.UINT64:
      return c.u64(what);
    case GGUFValueType.INT64:
      return c.i64(what);
    case GGUFValueType.BOOL: {
      const at = c.pos;
      const b = await c.u8(what);
      if (b > 1) throw c.fail('gguf_invalid', `${what} is a bool with byte value ${b} (must be 0 or 1)`, what, at);
      return b === 1;
    }
    case GGUFValueType.STRING:
      return c.string(what);
    case GGUFValueType.ARRAY:
      return readArray(c, what, 1);
    default:
      throw c.fail('gguf_invalid', `unknown metadata value type ${String(t)}`, what);
  }
}

// Numeric arrays are read in one block into a typed array: a 150k-entry score array is one copy, not 150k reads.
function typedFromBytes(t: GGUFValueType, b: Uint8Array, n: number): GGUFArray['values'] | undefined {
  const copy = b.slice(); // aligned, owned copy
  const buf = copy.buffer;
  switch (t) {
    case GGUFValueType.UINT8:
      return new Uint8Array(buf, 0, n);
    case GGUFValueType.INT8:
      return new Int8Array(buf, 0, n);
    case GGUFValueType.UINT16:
      return new Uint16Array(buf, 0, n);
    case GGUFValueType.INT16:
      return new Int16Array(buf, 0, n);
    case GGUFValueType.UINT32:
      return new Uint32Array(buf, 0, n);
    case GGUFValueType.INT32:
      return new Int32Array(buf, 0, n);
    case GGUFValueType.FLOAT32:
      return new Float32Array(buf, 0, n);
    case GGUFValueType.FLOAT64:
      return new Float64Array(buf, 0, n);
    case GGUFValueType.UINT64:
      return new BigUint64Array(buf, 0, n);
    case GGUFValueType.INT64:
      return new BigInt64Array(buf, 0, n);
    default:
      return undefined;
  }
}

async function readArray(c: Cursor, what: string, depth: number): Promise<GGUFArray> {
  const at = c.pos;
  if (depth > MAX_ARRAY_DEPTH) {
    throw c.fail('gguf_invalid', `arrays nested deeper than ${MAX_ARRAY_DEPTH} levels`, what, at);
  }
  const itemType = (await c.u32(`item type of ${what}`)) as GGUFValueType;
  const itemBytes = SCALAR_BYTES[itemType];
  if (itemBytes === undefined) {
    throw c.fail('gguf_invalid', `array item type ${itemType} is not a GGUF value type (0..12)`, what, at);
  }
  const n = await c.count(`item count of ${what}`, Math.floor(Math.max(0, c.remaining - 8) / itemBytes), itemBytes);
  if (itemType === GGUFValueType.STRING) {
    const out: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = await c.string(`${what}[${i}]`);
    return { itemType, values: out };
  }
  if (itemType === GGUFValueType.ARRAY) {
    const out: GGUFArray[] = [];
    for (let i = 0; i < n; i++) out.push(await readArray(c, `${what}[${i}]`, depth + 1));
    return { itemType, values: out };
  }
  if (itemType === GGUFValueType.BOOL) {
    const out: boolean[] = [];
    for (let i = 0; i < n; i++) out.push((await readScalar(c, itemType, `${what}[${i}]`)) as boolean);
    return { itemType, values: out };
  }
  const bytes = await c.bytes(n * itemBytes, what);
  return { itemType, values: typedFromBytes(itemType, bytes, n)! };
}

async function readHeader(c: Cursor): Promise<{ version: number; nTensors: number; nKV: number }> {
  const magic = await c.u32('magic');
  if (magic !== GGUF_MAGIC) {
    throw c.fail('gguf_invalid', `not a GGUF file: magic is 0x${magic.toString(16).padStart(8, '0')}, expected "GGUF"`, 'magic', 0);
  }
  const version = await c.u32('version');
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
    const hint =
      swapped === 2 || swapped === 3
        ? 'this is a big-endian GGUF; convert it to little-endian with gguf-py (gguf_convert_endian.py)'
        : version === 1
          ? 'GGUF v1 is obsolete; re-convert the model with a current llama.cpp'
          : 'supported versions are 2 and 3';
    throw c.fail('gguf_unsupported_version', `GGUF version ${version} is not supported: ${hint}`, 'version', 4);
  }
  const nTensors = await c.count('tensor count', Math.floor(c.remaining / MIN_TENSOR_INFO_BYTES), MIN_TENSOR_INFO_BYTES);
  const nKV = await c.count('metadata key/value count', Math.floor(c.remaining / MIN_KV_BYTES), MIN_KV_BYTES);
  return { version, nTensors, nKV };
}

async function readTensorInfo(c: Cursor, index: number): Promise<Omit<GGUFTensorInfo, 'fileOffset'>> {
  const start = c.pos;
  const name = await c.string(`name of tensor #${index}`, 1 << 16);
  if (name.length >= GGML_MAX_NAME) {
    throw c.fail('gguf_invalid', `tensor name "${name.slice(0, 80)}" is ${name.length} chars; ggml allows < ${GGML_MAX_NAME}`, `tensor #${index}`, start);
  }
  const what = `tensor ${name}`;
  const nDims = await c.u32(`n_dims of ${what}`);
  if (nDims === 0 || nDims > GGML_MAX_DIMS) {
    throw c.fail('gguf_invalid', `${what} has ${nDims} dimensions; ggml supports 1..${GGML_MAX_DIMS}`, `n_dims of ${what}`, c.pos - 4);
  }
  const dims: number[] = [];
  let nElements = 1;
  for (let d = 0; d < nDims; d++) {
    const at = c.pos;
    const v = await c.u64(`dims of ${what}`);
    // 2^53 bounds the element count so that every product below stays exact in a double.
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || nElements * Number(v) > Number.MAX_SAFE_INTEGER) {
      throw c.fail('gguf_invalid', `${what} has an absurd dimension ${v.toString()}`, `dims of ${what}`, at);
    }
    dims.push(Number(v));
    nElements *= Number(v);
  }
  const typeAt = c.pos;
  const type = await c.u32(`type of ${what}`);
  const geo = GGML_TYPE_GEOMETRY[type];
  if (geo === undefined) {
    throw new EngineError(
      'unsupported_quant',
      `${what} has ggml type ${ggmlTypeName(type)} (id ${type}), which ggml does not define; the file is corrupt or from a newer llama.cpp`,
      { file: c.source.name, offset: typeAt, reading: `type of ${what}`, tensor: name },
    );
  }
  if (dims[0]! % geo.blockSize !== 0) {
    throw c.fail('gguf_invalid', `${what} of type ${ggmlTypeName(type)} has ${dims[0]} columns, not a multiple of its block size ${geo.blockSize}`, `dims of ${what}`, start);
  }
  const offAt = c.pos;
  const off = await c.u64(`data offset of ${what}`);
  if (off > BigInt(Number.MAX_SAFE_INTEGER)) throw c.fail('gguf_invalid', `${what} has an absurd data offset ${off.toString()}`, `data offset of ${what}`, offAt);
  const nBytes = (nElements / geo.blockSize) * geo.typeSize;
  return { name, dims, type, offset: Number(off), nElements, nBytes };
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Parses the header of one GGUF file. Reads only the header region; tensor data stays in the source. */
export async function readGGUF(source: ByteSource): Promise<GGUFFile> {
  const c = new Cursor(source);
  const { version, nTensors, nKV } = await readHeader(c);
  const metadata = new Map<string, GGUFEntry>();
  for (let i = 0; i < nKV; i++) {
    const at = c.pos;
    const key = await c.string(`key of metadata entry #${i}`, 1 << 16);
    const type = (await c.u32(`value type of ${key}`)) as GGUFValueType;
    if (SCALAR_BYTES[type] === undefined) {
      throw c.fail('gguf_invalid', `metadata ${key} has value type ${type}, not a GGUF value type (0..12)`, `value type of ${key}`, c.pos - 4);
    }
    const value = await readScalar(c, type, `value of ${key}`);
    if (metadata.has(key)) throw c.fail('gguf_invalid', `metadata key ${key} appears twice`, `metadata entry #${i}`, at);
    metadata.set(key, { type, value });
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = metadata.get('general.alignment');
  if (al !== undefined) {
    const v = al.value;
    if (al.type !== GGUFValueType.UINT32 || typeof v !== 'number' || v === 0 || (v & (v - 1)) !== 0) {
      throw c.fail('gguf_invalid', `general.alignment must be a power-of-two uint32, got ${typeName(al.type)} ${String(v)}`, 'general.alignment', 0);
    }
    alignment = v;
  }

  const infos: Omit<GGUFTensorInfo, 'fileOffset'>[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const at = c.pos;
    const t = await readTensorInfo(c, i);
    if (seen.has(t.name)) throw c.fail('gguf_invalid', `tensor ${t.name} appears twice`, `tensor #${i}`, at);
    seen.add(t.name);
    if (t.offset % alignment !== 0) {
      throw c.fail('gguf_invalid', `tensor ${t.name} data offset ${t.offset} is not a multiple of the alignment ${alignment}`, `data offset of tensor ${t.name}`, c.pos - 8);
    }
    infos.push(t);
  }
  const dataOffset = alignUp(c.pos, alignment);
  const tensors = infos.map((t) => ({ ...t, fileOffset: dataOffset + t.offset }));
  checkTensorRanges(source, tensors);
  return { source, version, metadata, tensors, alignment, dataOffset };
}

function checkTensorRanges(source: ByteSource, tensors: readonly GGUFTensorInfo[]): void {
  for (const t of tensors) {
    if (t.fileOffset + t.nBytes > source.size) {
      throw new EngineError(
        'gguf_truncated',
        `tensor ${t.name} (${t.nBytes} bytes at ${t.fileOffset}) ends past the end of the ${source.size}-byte file; the file is incomplete or corrupt`,
        { file: source.name, offset: t.fileOffset, reading: `data of tensor ${t.name}`, tensor: t.name },
      );
    }
  }
  const sorted = [...tensors].sort((a, b) => a.fileOffset - b.fileOffset);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1]!;
    const t = sorted[i]!;
    if (p.fileOffset + p.nBytes > t.fileOffset) {
      throw new EngineError('gguf_invalid', `tensors ${p.name} and ${t.name} overlap in the file`, {
        file: source.name,
        offset: t.fileOffset,
        reading: `data of tensor ${t.name}`,
        tensor: t.name,
      });
    }
  }
}
