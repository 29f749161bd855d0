// Q8_K (block_q8_K: float d, int8 qs[256], int16 bsums[16] = 292 bytes per 256): ggml's intermediate type for
// k-quant dot products; x = d*q, bsums[j] = sum of qs[16j..16j+16). Reference quantizer: quantize_row_q8_K_ref.
import { GGMLType } from '../core/ggml-type.ts';
import type { QuantTraits } from './types.ts';
import { checkRow, toInt8, writeU16, writeU32 } from './block-io.ts';
import { nearestInt } from './k-helpers.ts';

const fr = Math.fround;
const QK_K = 256;
const TYPE_SIZE = 292;
const OFF_QS = 4;
const OFF_BSUMS = 260;

const dScratch = new Float32Array(1);
const dScratchU32 = new Uint32Array(dScratch.buffer);

function dequantizeRow(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkRow('q8_K', QK_K, TYPE_SIZE, n, src.length, dst.length);
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    dScratchU32[0] = (src[o] as number) | ((src[o + 1] as number) << 8) | ((src[o + 2] as number) << 16) | ((src[o + 3] as number) << 24);
    const d = dScratch[0] as number;
    const y = i * QK_K;
    for (let j = 0; j < QK_K; j++) dst[y + j] = fr(d * toInt8(src[o + OFF_QS + j] as number));
  }
}

function quantizeRow(x: Float32Array, dst: Uint8Array, n: number): void {
  const nb = checkRow('q8_K', QK_K, TYPE_SIZE, n, dst.length, x.length);
  for (let i = 0; i < nb; i++) {
    const xo = i * QK_K;
    const o = i * TYPE_SIZE;
    let max = 0;
    let amax = 0;
    for (let j = 0; j < QK_K; j++) {
      const ax = Math.abs(x[xo + j] as number);
      if (ax > amax) {
        amax = ax;
        max = x[xo + j] as number;
      }
    }
    if (amax === 0) {
      // ggml leaves bsums untouched here; zeroing them keeps our output deterministic and still correct.
      dst.fill(0, o, o + TYPE_SIZE);
      continue;
    }
    // -127 rather than -128: ggml needs |q| <= 127 for its IQ2_XXS dot products.
    const iscale = fr(-127 / max);
    for (let j = 0; j < QK_K; j++) {
      const v = nearestInt(fr(iscale * (x[xo + j] as number)));
      dst[o + OFF_QS + j] = Math.min(127, v) & 0xff;
    }
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let ii = 0; ii < 16; ii++) sum += toInt8(dst[o + OFF_QS + 16 * j + ii] as number);
      writeU16(dst, o + OFF_BSUMS + 2 * j, sum & 0xffff);
    }
    dScratch[0] = fr(1 / iscale);
    writeU32(dst, o, dScratchU32[0] as number);
  }
}

export const Q8_K_TRAITS: QuantTraits = {
  type: GGMLType.Q8_K,
  name: 'q8_K',
  blockSize: QK_K,
  typeSize: TYPE_SIZE,
  dequantizeRow,
  quantizeRow,
};
