// Q4_K (block_q4_K: d, dmin, scales[12], qs[128] = 144 bytes per 256): 8 groups of 32, x = d*sc*q - dmin*m with
// 6-bit sc/m (get_scale_min_k4 packing) and 4-bit q; qs byte l of each 32-byte chunk holds element l (low nibble)
// and l+32 (high nibble) of a 64-element span. Reference quantizer: quantize_row_q4_K_ref.
import { GGMLType } from '../core/ggml-type.ts';
import type { QuantTraits } from './types.ts';
import { checkRow, readF16 } from './block-io.ts';
import { weightsAvX32, makeQkx2Quants, minK4, requantizeK4, scaleK4, storeScalesMinsK4 } from './k-helpers.ts';

const fr = Math.fround;
const QK_K = 256;
const TYPE_SIZE = 144;
const OFF_SCALES = 4;
const OFF_QS = 16;

function dequantizeRow(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkRow('q4_K', QK_K, TYPE_SIZE, n, src.length, dst.length);
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    const d = readF16(src, o);
    const min = readF16(src, o + 2);
    let y = i * QK_K;
    for (let j = 0; j < 4; j++) {
      const d1 = fr(d * scaleK4(2 * j, src, o + OFF_SCALES));
      const m1 = fr(min * minK4(2 * j, src, o + OFF_SCALES));
      const d2 = fr(d * scaleK4(2 * j + 1, src, o + OFF_SCALES));
      const m2 = fr(min * minK4(2 * j + 1, src, o + OFF_SCALES));
      const q = o + OFF_QS + 32 * j;
      for (let l = 0; l < 32; l++) dst[y++] = fr(fr(d1 * ((src[q + l] as number) & 0xf)) - m1);
      for (let l = 0; l < 32; l++) dst[y++] = fr(fr(d2 * ((src[q + l] as number) >> 4)) - m2);
    }
  }
}

const L = new Uint8Array(QK_K);
const Laux = new Uint8Array(32);
const weights = new Float32Array(32);
const mins = new Float32Array(8);
const scales = new Float32Array(8);
const RMIN = -1;
const RDELTA = fr(0.1);

function quantizeRow(x: Float32Array, dst: Uint8Array, n: number): void {
  const nb = checkRow('q4_K', QK_K, TYPE_SIZE, n, dst.length, x.length);
  for (let i = 0; i < nb; i++) {
    const xo = i * QK_K;
    const o = i * TYPE_SIZE;
    for (let j = 0; j < 8; j++) {
      weightsAvX32(x, xo + 32 * j, weights);
      scales[j] = makeQkx2Quants(32, 15, x, xo + 32 * j, weights, L, 32 * j, mins, j, Laux, RMIN, RDELTA, 20, false);
    }
    storeScalesMinsK4(dst, o, scales, mins);
    requantizeK4(x, xo, dst, o, readF16(dst, o), readF16(dst, o + 2), L, 15);
    for (let j = 0; j < 4; j++) {
      const q = o + OFF_QS + 32 * j;
      for (let l = 0; l < 32; l++) dst[q + l] = (L[64 * j + l] as number) | ((L[64 * j + l + 32] as number) << 4);
    }
  }
}

export const Q4_K_TRAITS: QuantTraits = {
  type: GGMLType.Q4_K,
  name: 'q4_K',
  blockSize: QK_K,
  typeSize: TYPE_SIZE,
  dequantizeRow,
  quantizeRow,
};
