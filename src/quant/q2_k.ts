// Q2_K (block_q2_K: scales[16], qs[64], d, dmin = 84 bytes per 256): 16 groups of 16, each x = d*sc*q - dmin*m with
// 4-bit sc and m packed in one byte and 2-bit q. Reference quantizer: quantize_row_q2_K_ref.
import { GGMLType } from '../core/ggml-type.ts';
import type { QuantTraits } from './types.ts';
import { checkRow, readF16, writeF16 } from './block-io.ts';
import { makeQkx2Quants, nearestInt } from './k-helpers.ts';

const fr = Math.fround;
const QK_K = 256;
const TYPE_SIZE = 84;
const OFF_QS = 16;
const OFF_D = 80;
const OFF_DMIN = 82;

function dequantizeRow(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkRow('q2_K', QK_K, TYPE_SIZE, n, src.length, dst.length);
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    const d = readF16(src, o + OFF_D);
    const min = readF16(src, o + OFF_DMIN);
    let y = i * QK_K;
    let is = 0;
    for (let half = 0; half < 2; half++) {
      const q = o + OFF_QS + 32 * half;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let k = 0; k < 2; k++) {
          const sc = src[o + is++] as number;
          const dl = fr(d * (sc & 0xf));
          const ml = fr(min * (sc >> 4));
          for (let l = 0; l < 16; l++) {
            dst[y++] = fr(fr(dl * (((src[q + 16 * k + l] as number) >> shift) & 3)) - ml);
          }
        }
      }
    }
  }
}

const L = new Uint8Array(QK_K);
const Laux = new Uint8Array(16);
const weights = new Float32Array(16);
const mins = new Float32Array(QK_K / 16);
const scales = new Float32Array(QK_K / 16);
const Q4SCALE = 15;
const RMIN = -0.5;
const RDELTA = fr(0.1);

function quantizeRow(x: Float32Array, dst: Uint8Array, n: number): void {
  const nb = checkRow('q2_K', QK_K, TYPE_SIZE, n, dst.length, x.length);
  for (let i = 0; i < nb; i++) {
    const xo = i * QK_K;
    const o = i * TYPE_SIZE;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < QK_K / 16; j++) {
      for (let l = 0; l < 16; l++) weights[l] = Math.abs(x[xo + 16 * j + l] as number);
      const scale = makeQkx2Quants(16, 3, x, xo + 16 * j, weights, L, 16 * j, mins, j, Laux, RMIN, RDELTA, 15, true);
      scales[j] = scale;
      if (scale > maxScale) maxScale = scale;
      const m = mins[j] as number;
      if (m > maxMin) maxMin = m;
    }

    if (maxScale > 0) {
      const iscale = fr(Q4SCALE / maxScale);
      for (let j = 0; j < 16; j++) dst[o + j] = nearestInt(fr(iscale * (scales[j] as number))) & 0xff;
      writeF16(dst, o + OFF_D, fr(maxScale / Q4SCALE));
    } else {
      dst.fill(0, o, o + 16);
      writeF16(dst, o + OFF_D, 0);
    }
    if (maxMin > 0) {
      const iscale = fr(Q4SCALE / maxMin);
      for (let j = 0; j < 16; j++) {
        const l = nearestInt(fr(iscale * (mins[j] as number)));
        dst[o + j] = ((dst[o + j] as number) | (l << 4)) & 0xff;
      }
      writeF16(dst, o + OFF_DMIN, fr(maxMin / Q4SCALE));
    } else {
      writeF16(dst, o + OFF_DMIN, 0);
    }

    // Requantize against the scales as stored, so the quants fit what dequantization will use.
    const dAll = readF16(dst, o + OFF_D);
    const dminAll = readF16(dst, o + OFF_DMIN);
    for (let j = 0; j < 16; j++) {
      const sc = dst[o + j] as number;
      const d = fr(dAll * (sc & 0xf));
      if (d === 0) continue;
      const dm = fr(dminAll * (sc >> 4));
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fr(fr((x[xo + 16 * j + ii] as number) + dm) / d));
        L[16 * j + ii] = Math.max(0, Math.min(3, l));
      }
    }

    for (let j = 0; j < QK_K; j += 128) {
      for (let l = 0; l < 32; l++) {
        dst[o + OFF_QS + j / 4 + l] =
          (L[j + l] as number) | ((L[j + l + 32] as number) << 2) | ((L[j + l + 64] as number) << 4) | ((L[j + l + 96] as number) << 6);
      }
    }
  }
}

export const Q2_K_TRAITS: QuantTraits = {
  type: GGMLType.Q2_K,
  name: 'q2_K',
  blockSize: QK_K,
  typeSize: TYPE_SIZE,
  dequantizeRow,
  quantizeRow,
};
