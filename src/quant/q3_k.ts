// Q3_K (block_q3_K: hmask[32], qs[64], scales[12], d = 110 bytes per 256): 16 groups of 16, x = d*(sc-32)*(q-4)
// with 6-bit sc (low 4 bits in scales[0..7] nibbles, high 2 bits in scales[8..11]) and 3-bit q whose top bit is
// in hmask (element e: byte e%32, bit e/32). Reference quantizer: quantize_row_q3_K_ref.
import { GGMLType } from '../core/ggml-type.ts';
import type { QuantTraits } from './types.ts';
import { checkRow, readF16, toInt8, writeF16 } from './block-io.ts';
import { makeQ3Quants, nearestInt } from './k-helpers.ts';

const fr = Math.fround;
const QK_K = 256;
const TYPE_SIZE = 110;
const OFF_QS = 32;
const OFF_SCALES = 96;
const OFF_D = 108;

/** 6-bit scale j (0..63, before the -32 offset) from the 12-byte packed array at q[o]. */
function scaleQ3(j: number, q: Uint8Array, o: number): number {
  const low = j < 8 ? (q[o + j] as number) & 0xf : (q[o + j - 8] as number) >> 4;
  const high = ((q[o + 8 + (j % 4)] as number) >> (2 * (j >> 2))) & 3;
  return low | (high << 4);
}

function dequantizeRow(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkRow('q3_K', QK_K, TYPE_SIZE, n, src.length, dst.length);
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    const dAll = readF16(src, o + OFF_D);
    let y = i * QK_K;
    let is = 0;
    let m = 1;
    for (let half = 0; half < 2; half++) {
      const q = o + OFF_QS + 32 * half;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let k = 0; k < 2; k++) {
          const dl = fr(dAll * (scaleQ3(is++, src, o + OFF_SCALES) - 32));
          for (let l = 0; l < 16; l++) {
            const lo = ((src[q + 16 * k + l] as number) >> shift) & 3;
            const hi = (src[o + 16 * k + l] as number) & m ? 0 : 4;
            dst[y++] = fr(dl * (lo - hi));
          }
        }
        m <<= 1;
      }
    }
  }
}

const L = new Int8Array(QK_K);
const scales = new Float32Array(QK_K / 16);

function quantizeRow(x: Float32Array, dst: Uint8Array, n: number): void {
  const nb = checkRow('q3_K', QK_K, TYPE_SIZE, n, dst.length, x.length);
  for (let i = 0; i < nb; i++) {
    const xo = i * QK_K;
    const o = i * TYPE_SIZE;
    let maxScale = 0;
    let amax = 0;
    for (let j = 0; j < QK_K / 16; j++) {
      const s = makeQ3Quants(16, 4, x, xo + 16 * j, L, 16 * j, true);
      scales[j] = s;
      const a = Math.abs(s);
      if (a > amax) {
        amax = a;
        maxScale = s;
      }
    }

    const sc = o + OFF_SCALES;
    dst.fill(0, sc, sc + 12);
    if (maxScale !== 0) {
      const iscale = fr(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        // ggml stores nearest_int into an int8_t before clamping.
        let l = toInt8(nearestInt(fr(iscale * (scales[j] as number))));
        l = Math.max(-32, Math.min(31, l)) + 32;
        if (j < 8) dst[sc + j] = l & 0xf;
        else dst[sc + j - 8] = (dst[sc + j - 8] as number) | ((l & 0xf) << 4);
        l >>= 4;
        dst[sc + (j % 4) + 8] = (dst[sc + (j % 4) + 8] as number) | (l << (2 * (j >> 2)));
      }
      writeF16(dst, o + OFF_D, fr(1 / iscale));
    } else {
      writeF16(dst, o + OFF_D, 0);
    }

    const dAll = readF16(dst, o + OFF_D);
    for (let j = 0; j < 16; j++) {
      const d = fr(dAll * (scaleQ3(j, dst, sc) - 32));
      if (d === 0) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fr((x[xo + 16 * j + ii] as number) / d));
        L[16 * j + ii] = Math.max(-4, Math.min(3, l)) + 4;
      }
    }

    // High bit of the 1st 32 quants goes to bit 0 of hmask[0..31], the next 32 to bit 1, etc.
    dst.fill(0, o, o + 32);
    for (let j = 0; j < QK_K; j++) {
      if ((L[j] as number) > 3) {
        dst[o + (j & 31)] = (dst[o + (j & 31)] as number) | (1 << (j >> 5));
        L[j] = (L[j] as number) - 4;
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

export const Q3_K_TRAITS: QuantTraits = {
  type: GGMLType.Q3_K,
  name: 'q3_K',
  blockSize: QK_K,
  typeSize: TYPE_SIZE,
  dequantizeRow,
  quantizeRow,
};
