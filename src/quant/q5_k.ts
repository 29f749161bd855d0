// Q5_K (block_q5_K: d, dmin, scales[12], qh[32], qs[128] = 176 bytes per 256): Q4_K plus a 5th quant bit; for the
// 64-element span s, qh byte l holds element 64s+l in bit 2s and element 64s+32+l in bit 2s+1.
// Reference quantizer: quantize_row_q5_K_ref.
import { GGMLType } from '../core/ggml-type.ts';
import type { QuantTraits } from './types.ts';
import { checkRow, readF16 } from './block-io.ts';
import { weightsAvX32, makeQkx2Quants, minK4, requantizeK4, scaleK4, storeScalesMinsK4 } from './k-helpers.ts';

const fr = Math.fround;
const QK_K = 256;
const TYPE_SIZE = 176;
const OFF_SCALES = 4;
const OFF_QH = 16;
const OFF_QS = 48;

function dequantizeRow(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkRow('q5_K', QK_K, TYPE_SIZE, n, src.length, dst.length);
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    const d = readF16(src, o);
    const min = readF16(src, o + 2);
    const qh = o + OFF_QH;
    let y = i * QK_K;
    for (let j = 0; j < 4; j++) {
      const d1 = fr(d * scaleK4(2 * j, src, o + OFF_SCALES));
      const m1 = fr(min * minK4(2 * j, src, o + OFF_SCALES));
      const d2 = fr(d * scaleK4(2 * j + 1, src, o + OFF_SCALES));
      const m2 = fr(min * minK4(2 * j + 1, src, o + OFF_SCALES));
      const u1 = 1 << (2 * j);
      const u2 = 2 << (2 * j);
      const ql = o + OFF_QS + 32 * j;
      for (let l = 0; l < 32; l++) {
        const q = ((src[ql + l] as number) & 0xf) + ((src[qh + l] as number) & u1 ? 16 : 0);
        dst[y++] = fr(fr(d1 * q) - m1);
      }
      for (let l = 0; l < 32; l++) {
        const q = ((src[ql + l] as number) >> 4) + ((src[qh + l] as number) & u2 ? 16 : 0);
        dst[y++] = fr(fr(d2 * q) - m2);
      }
    }
  }
}

const L = new Uint8Array(QK_K);
const Laux = new Uint8Array(32);
const weights = new Float32Array(32);
const mins = new Float32Array(8);
const scales = new Float32Array(8);
const RMIN = -0.5;
const RDELTA = fr(0.1);

function quantizeRow(x: Float32Array, dst: Uint8Array, n: number): void {
  const nb = checkRow('q5_K', QK_K, TYPE_SIZE, n, dst.length, x.length);
  for (let i = 0; i < nb; i++) {
    const xo = i * QK_K;
    const o = i * TYPE_SIZE;
    for (let j = 0; j < 8; j++) {
      weightsAvX32(x, xo + 32 * j, weights);
      scales[j] = makeQkx2Quants(32, 31, x, xo + 32 * j, weights, L, 32 * j, mins, j, Laux, RMIN, RDELTA, 15, false);
    }
    storeScalesMinsK4(dst, o, scales, mins);
    requantizeK4(x, xo, dst, o, readF16(dst, o), readF16(dst, o + 2), L, 31);

    const qh = o + OFF_QH;
    dst.fill(0, qh, qh + 32);
    for (let s = 0; s < 4; s++) {
      const m1 = 1 << (2 * s);
      const m2 = 2 << (2 * s);
      const ql = o + OFF_QS + 32 * s;
      for (let j = 0; j < 32; j++) {
        let l1 = L[64 * s + j] as number;
        if (l1 > 15) {
          l1 -= 16;
          dst[qh + j] = (dst[qh + j] as number) | m1;
        }
        let l2 = L[64 * s + j + 32] as number;
        if (l2 > 15) {
          l2 -= 16;
          dst[qh + j] = (dst[qh + j] as number) | m2;
        }
        dst[ql + j] = (l1 | (l2 << 4)) & 0xff;
      }
    }
  }
}

export const Q5_K_TRAITS: QuantTraits = {
  type: GGMLType.Q5_K,
  name: 'q5_K',
  blockSize: QK_K,
  typeSize: TYPE_SIZE,
  dequantizeRow,
  quantizeRow,
};
