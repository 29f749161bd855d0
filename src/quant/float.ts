// Unquantized element types: F32 (bytes copied), F16 and BF16 (ggml_fp32_to_fp16_row / ggml_fp32_to_bf16_row_ref).
import { GGMLType } from '../core/ggml-type.ts';
import type { QuantTraits } from './types.ts';
import { checkRow } from './block-io.ts';
import { fp16LookupTable, fp32ToBf16, fp32ToFp16 } from './f16.ts';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export const F32_TRAITS: QuantTraits = {
  type: GGMLType.F32,
  name: 'f32',
  blockSize: 1,
  typeSize: 4,
  dequantizeRow(src, dst, n) {
    checkRow('f32', 1, 4, n, src.length, dst.length);
    if (LITTLE_ENDIAN && src.byteOffset % 4 === 0) {
      // Same-type typed-array copy moves bit patterns, so NaN payloads survive like a memcpy.
      dst.set(new Float32Array(src.buffer, src.byteOffset, n));
      return;
    }
    const dv = new DataView(src.buffer, src.byteOffset, n * 4);
    for (let i = 0; i < n; i++) dst[i] = dv.getFloat32(4 * i, true);
  },
  quantizeRow(src, dst, n) {
    checkRow('f32', 1, 4, n, dst.length, src.length);
    if (LITTLE_ENDIAN && dst.byteOffset % 4 === 0) {
      new Float32Array(dst.buffer, dst.byteOffset, n).set(src.subarray(0, n));
      return;
    }
    const dv = new DataView(dst.buffer, dst.byteOffset, n * 4);
    for (let i = 0; i < n; i++) dv.setFloat32(4 * i, src[i] as number, true);
  },
};

function halfTraits(type: GGMLType, name: string, encode: (x: number) => number, decode: (h: number) => number): QuantTraits {
  return {
    type,
    name,
    blockSize: 1,
    typeSize: 2,
    dequantizeRow(src, dst, n) {
      checkRow(name, 1, 2, n, src.length, dst.length);
      for (let i = 0; i < n; i++) dst[i] = decode((src[2 * i] as number) | ((src[2 * i + 1] as number) << 8));
    },
    quantizeRow(src, dst, n) {
      checkRow(name, 1, 2, n, dst.length, src.length);
      for (let i = 0; i < n; i++) {
        const h = encode(src[i] as number);
        dst[2 * i] = h & 0xff;
        dst[2 * i + 1] = h >>> 8;
      }
    },
  };
}

const FP16 = fp16LookupTable();
const bf16Scratch = new Uint32Array(1);
const bf16ScratchF32 = new Float32Array(bf16Scratch.buffer);

export const F16_TRAITS: QuantTraits = halfTraits(GGMLType.F16, 'f16', fp32ToFp16, (h) => FP16[h] as number);

export const BF16_TRAITS: QuantTraits = halfTraits(GGMLType.BF16, 'bf16', fp32ToBf16, (h) => {
  bf16Scratch[0] = h << 16;
  return bf16ScratchF32[0] as number;
});
