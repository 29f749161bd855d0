// Small GGUFs built with our writer for reader tests, and helpers to patch fields of their headers.
import { GGMLType } from '../../src/core/ggml-type.ts';
import { writeGGUF, type GGUFToWrite } from '../../src/gguf/writer.ts';
import { GGUFValueType, type GGUFEntry } from '../../src/gguf/types.ts';
import { MemorySink } from '../../src/storage/memory-source.ts';

// A copy of ../shared/data (origins and licenses in data/shared/SOURCES.md), so tests run from any checkout.
export const SHARED = new URL('../data/shared/', import.meta.url).pathname;

export function randomBytes(n: number, seed: number): Uint8Array {
  let s = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

/** Metadata covering every value type, nested arrays and arrays of strings. */
export function allTypesMetadata(): [string, GGUFEntry][] {
  return [
    ['general.architecture', { type: GGUFValueType.STRING, value: 'llama' }],
    ['t.u8', { type: GGUFValueType.UINT8, value: 200 }],
    ['t.i8', { type: GGUFValueType.INT8, value: -100 }],
    ['t.u16', { type: GGUFValueType.UINT16, value: 65000 }],
    ['t.i16', { type: GGUFValueType.INT16, value: -32000 }],
    ['t.u32', { type: GGUFValueType.UINT32, value: 4_000_000_000 }],
    ['t.i32', { type: GGUFValueType.INT32, value: -2_000_000_000 }],
    ['t.f32', { type: GGUFValueType.FLOAT32, value: Math.fround(1e-5) }],
    ['t.f64', { type: GGUFValueType.FLOAT64, value: Math.PI }],
    ['t.bool', { type: GGUFValueType.BOOL, value: true }],
    ['t.u64', { type: GGUFValueType.UINT64, value: 2n ** 63n + 5n }],
    ['t.i64', { type: GGUFValueType.INT64, value: -(2n ** 62n) }],
    ['t.str', { type: GGUFValueType.STRING, value: 'héllo 世界 🚀' }],
    ['t.empty', { type: GGUFValueType.STRING, value: '' }],
    ['t.strs', { type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.STRING, values: ['a', '', 'Ġthe', '<0x0A>'] } }],
    ['t.f32s', { type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.FLOAT32, values: new Float32Array([1.5, -2, 0]) } }],
    ['t.i32s', { type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.INT32, values: new Int32Array([1, -2, 3]) } }],
    ['t.u64s', { type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.UINT64, values: new BigUint64Array([1n, 2n ** 60n]) } }],
    ['t.bools', { type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.BOOL, values: [true, false, true] } }],
    [
      't.nested',
      {
        type: GGUFValueType.ARRAY,
        value: {
          itemType: GGUFValueType.ARRAY,
          values: [
            { itemType: GGUFValueType.INT16, values: new Int16Array([7, -7]) },
            { itemType: GGUFValueType.STRING, values: ['x'] },
            { itemType: GGUFValueType.ARRAY, values: [{ itemType: GGUFValueType.UINT8, values: new Uint8Array([9]) }] },
          ],
        },
      },
    ],
  ];
}

export interface FixtureTensor {
  name: string;
  dims: number[];
  type: number;
  bytes: Uint8Array;
}

export function fixtureTensors(seed = 1): FixtureTensor[] {
  return [
    { name: 'token_embd.weight', dims: [32, 7], type: GGMLType.F32, bytes: randomBytes(32 * 7 * 4, seed) },
    { name: 'blk.0.attn_q.weight', dims: [64, 3], type: GGMLType.Q8_0, bytes: randomBytes(2 * 3 * 34, seed + 1) },
    { name: 'blk.0.ffn_down_exps.weight', dims: [256, 2, 3], type: GGMLType.Q4_K, bytes: randomBytes(6 * 144, seed + 2) },
    { name: 'output_norm.weight', dims: [33], type: GGMLType.F16, bytes: randomBytes(66, seed + 3) },
  ];
}

export async function buildGGUF(over: Partial<GGUFToWrite> = {}): Promise<Uint8Array> {
  const tensors = fixtureTensors().map((t) => ({ ...t, data: () => t.bytes }));
  const sink = new MemorySink();
  await writeGGUF(sink, { metadata: allTypesMetadata(), tensors, ...over });
  return sink.bytes();
}

/** Absolute offset of the tensor-info field `field` of tensor `name` in a GGUF header. */
export function tensorInfoFieldOffset(bytes: Uint8Array, name: string, field: 'n_dims' | 'type' | 'offset'): number {
  const needle = new TextEncoder().encode(name);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 8; i + needle.length < bytes.length; i++) {
    if (dv.getBigUint64(i - 8, true) !== BigInt(needle.length)) continue;
    if (!needle.every((b, j) => bytes[i + j] === b)) continue;
    const nDimsAt = i + needle.length;
    const nDims = dv.getUint32(nDimsAt, true);
    const typeAt = nDimsAt + 4 + 8 * nDims;
    if (field === 'n_dims') return nDimsAt;
    if (field === 'type') return typeAt;
    return typeAt + 4;
  }
  throw new Error(`tensor info ${name} not found`);
}
