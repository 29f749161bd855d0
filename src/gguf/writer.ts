// Streaming GGUF v3 writer. The header (metadata + tensor infos) is built in memory — it is small even with a
// 150k-token vocab — then tensor data is pulled from each tensor's producer in order and written with padding,
// so a 10 GB model is written holding one tensor chunk at a time. read(write(x)) round-trips exactly.
import type { ByteSink } from '../core/byte-source.ts';
import { EngineError } from '../core/errors.ts';
import { GGML_TYPE_GEOMETRY, ggmlTypeName } from '../core/ggml-type.ts';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUFValueType, type GGUFArray, type GGUFEntry, type GGUFValue } from './types.ts';

export type TensorBytes = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface TensorToWrite {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: number;
  /** Called once, when this tensor's turn comes; must produce exactly the tensor's byte size. */
  data(): TensorBytes | Promise<TensorBytes>;
}

export interface GGUFToWrite {
  readonly metadata: Iterable<readonly [string, GGUFEntry]>;
  readonly tensors: readonly TensorToWrite[];
  readonly alignment?: number;
}

const enc = new TextEncoder();

class Builder {
  private buf: Uint8Array = new Uint8Array(1 << 16);
  private dv = new DataView(this.buf.buffer);
  len = 0;
  private room(n: number): number {
    if (this.len + n > this.buf.length) {
      const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      b.set(this.buf.subarray(0, this.len));
      this.buf = b;
      this.dv = new DataView(b.buffer);
    }
    const at = this.len;
    this.len += n;
    return at;
  }
  // room() may swap in a bigger buffer, so it must run before this.dv is read (hence the two statements).
  private dvAt(n: number): [DataView, number] {
    const at = this.room(n);
    return [this.dv, at];
  }
  u8(v: number): void { const [d, o] = this.dvAt(1); d.setUint8(o, v); }
  i8(v: number): void { const [d, o] = this.dvAt(1); d.setInt8(o, v); }
  u16(v: number): void { const [d, o] = this.dvAt(2); d.setUint16(o, v, true); }
  i16(v: number): void { const [d, o] = this.dvAt(2); d.setInt16(o, v, true); }
  u32(v: number): void { const [d, o] = this.dvAt(4); d.setUint32(o, v, true); }
  i32(v: number): void { const [d, o] = this.dvAt(4); d.setInt32(o, v, true); }
  f32(v: number): void { const [d, o] = this.dvAt(4); d.setFloat32(o, v, true); }
  f64(v: number): void { const [d, o] = this.dvAt(8); d.setFloat64(o, v, true); }
  u64(v: number | bigint): void { const [d, o] = this.dvAt(8); d.setBigUint64(o, BigInt(v), true); }
  i64(v: number | bigint): void { const [d, o] = this.dvAt(8); d.setBigInt64(o, BigInt(v), true); }
  bytes(b: Uint8Array): void {
    const at = this.room(b.length); // before touching this.buf: room() may replace it
    this.buf.set(b, at);
  }
  str(s: string): void {
    const b = enc.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  pad(alignment: number): void {
    const n = (alignment - (this.len % alignment)) % alignment;
    const at = this.room(n);
    this.buf.fill(0, at, at + n);
  }
  take(): Uint8Array { return this.buf.subarray(0, this.len); }
}

function bad(message: string, key?: string): EngineError {
  return new EngineError('bad_argument', message, key === undefined ? {} : { key });
}

function writeValue(b: Builder, t: GGUFValueType, v: GGUFValue, key: string): void {
  switch (t) {
    case GGUFValueType.UINT8: return b.u8(v as number);
    case GGUFValueType.INT8: return b.i8(v as number);
    case GGUFValueType.UINT16: return b.u16(v as number);
    case GGUFValueType.INT16: return b.i16(v as number);
    case GGUFValueType.UINT32: return b.u32(v as number);
    case GGUFValueType.INT32: return b.i32(v as number);
    case GGUFValueType.FLOAT32: return b.f32(v as number);
    case GGUFValueType.FLOAT64: return b.f64(v as number);
    case GGUFValueType.UINT64: return b.u64(v as bigint | number);
    case GGUFValueType.INT64: return b.i64(v as bigint | number);
    case GGUFValueType.BOOL: return b.u8(v === true ? 1 : 0);
    case GGUFValueType.STRING:
      if (typeof v !== 'string') throw bad(`metadata ${key}: STRING value is ${typeof v}`, key);
      return b.str(v);
    case GGUFValueType.ARRAY: {
      const a = v as GGUFArray;
      b.u32(a.itemType);
      b.u64(a.values.length);
      for (const item of a.values as Iterable<GGUFValue>) writeValue(b, a.itemType, item, key);
      return;
    }
    default:
      throw bad(`metadata ${key}: unknown value type ${String(t)}`, key);
  }
}

export function tensorBytes(type: number, dims: readonly number[], name: string): number {
  const geo = GGML_TYPE_GEOMETRY[type];
  if (geo === undefined) throw new EngineError('unsupported_quant', `tensor ${name}: unknown ggml type id ${type}`, { tensor: name });
  if (dims.length === 0 || dims.length > 4 || dims[0]! % geo.blockSize !== 0) {
    throw bad(`tensor ${name}: dims [${dims.join(', ')}] do not fit type ${ggmlTypeName(type)} (block size ${geo.blockSize}, 1..4 dims)`);
  }
  return (dims.reduce((a, d) => a * d, 1) / geo.blockSize) * geo.typeSize;
}

async function* chunksOf(t: TensorToWrite): AsyncIterable<Uint8Array> {
  const d = await t.data();
  if (d instanceof Uint8Array) yield d;
  else yield* d as AsyncIterable<Uint8Array>;
}

export interface EncodedHeader {
  /** Header bytes including the padding up to the data section. */
  readonly header: Uint8Array;
  /** Byte size of each tensor's data (without padding). */
  readonly sizes: readonly number[];
  readonly alignment: number;
}

/** Encodes the header (magic, counts, metadata, tensor infos, padding) of the GGUF `g` describes. */
export function encodeHeader(g: GGUFToWrite): EncodedHeader {
  const alignment = g.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const metadata = [...g.metadata];
  const hasAlign = metadata.some(([k]) => k === 'general.alignment');
  if (!hasAlign && alignment !== GGUF_DEFAULT_ALIGNMENT) {
    metadata.push(['general.alignment', { type: GGUFValueType.UINT32, value: alignment }]);
  }
  const h = new Builder();
  h.u32(GGUF_MAGIC);
  h.u32(3);
  h.u64(g.tensors.length);
  h.u64(metadata.length);
  for (const [k, e] of metadata) {
    h.str(k);
    h.u32(e.type);
    writeValue(h, e.type, e.value, k);
  }
  const sizes: number[] = [];
  let offset = 0;
  for (const t of g.tensors) {
    if (enc.encode(t.name).length >= 64) throw bad(`tensor name ${t.name} is 64 bytes or longer; ggml's limit is 63`);
    const n = tensorBytes(t.type, t.dims, t.name);
    h.str(t.name);
    h.u32(t.dims.length);
    for (const d of t.dims) h.u64(d);
    h.u32(t.type);
    h.u64(offset);
    sizes.push(n);
    offset += Math.ceil(n / alignment) * alignment;
  }
  h.pad(alignment);
  return { header: h.take(), sizes, alignment };
}

/** Writes a GGUF v3 file to `sink` and closes it. Returns the number of bytes written. */
export async function writeGGUF(sink: ByteSink, g: GGUFToWrite): Promise<number> {
  const { header, sizes, alignment } = encodeHeader(g);
  await sink.write(header);
  let total = header.length;
  for (let i = 0; i < g.tensors.length; i++) {
    const t = g.tensors[i]!;
    let written = 0;
    for await (const chunk of chunksOf(t)) {
      written += chunk.length;
      if (written > sizes[i]!) break;
      await sink.write(chunk);
    }
    if (written !== sizes[i]) {
      await sink.close();
      throw bad(`tensor ${t.name}: its producer gave ${written} bytes, the ${ggmlTypeName(t.type)} [${t.dims.join(', ')}] tensor needs ${sizes[i]}`);
    }
    const pad = (alignment - (written % alignment)) % alignment;
    // gguf-py and ggml pad after every tensor, the last one included.
    if (pad > 0) await sink.write(new Uint8Array(pad));
    total += written + pad;
  }
  await sink.close();
  return total;
}
