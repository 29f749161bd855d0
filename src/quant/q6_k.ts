// Q6_K (block_q6_K: ql[128], qh[64], scales[16] int8, d = 210 bytes per 256): 16 groups of 16, x = d*sc*(q-32) with
// int8 sc and 6-bit q. Per 128-element half h: ql[64h+l] holds elements l (low nibble) and l+64 (high), ql[64h+32+l]
// holds l+32 and l+96, and qh[32h+l] holds the top 2 bits of l, l+32, l+64, l+96 in bits 0-1, 2-3, 4-5, 6-7.
// Reference quantizer: quantize_row_q6_K_ref.
import { GGMLType } from '../core/ggml-type.ts';
import type { QuantTraits } from './types.ts';
import { checkRow, readF16, toInt8, writeF16 } from './block-io.ts';
import { GROUP_MAX_EPS, makeQxQuants, nearestInt } from './k-helpers.ts';

const fr = Math.fround;
const QK_K = 256;
const TYPE_SIZE = 210;
const OFF_QH = 128;
const OFF_SCALES = 192;
const OFF_D = 208;

function dequantizeRow(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkRow('q6_K', QK_K, TYPE_SIZE, n, src.length, dst.length);
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    const d = readF16(src, o + OFF_D);
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h;
      const qh = o + OFF_QH + 32 * h;
      const sc = o + OFF_SCALES + 8 * h;
      const y = i * QK_K + 128 * h;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const a = src[ql + l] as number;
        const b = src[ql + l + 32] as number;
        const hb = src[qh + l] as number;
        const q1 = ((a & 0xf) | ((hb & 3) << 4)) - 32;
        const q2 = ((b & 0xf) | (((hb >> 2) & 3) << 4)) - 32;
        const q3 = ((a >> 4) | (((hb >> 4) & 3) << 4)) - 32;
        const q4 = ((b >> 4) | (((hb >> 6) & 3) << 4)) - 32;
        dst[y + l] = fr(fr(d * toInt8(src[sc + is] as number)) * q1);
        dst[y + l + 32] = fr(fr(d * toInt8(src[sc + is + 2] as number)) * q2);
        dst[y + l + 64] = fr(fr(d * toInt8(src[sc + is + 4] as number)) * q3);
        dst[y + l + 96] = fr(fr(d * toInt8(src[sc + is + 6] as number)) * q4);
      }
    }
  }
}

const L = new Uint8Array(QK_K);
const scales = new Float32Array(QK_K / 16);

function quantizeRow(x: Float32Array, dst: Uint8Array, n: number): void {
  const nb = checkRow('q6_K', QK_K, TYPE_SIZE, n, dst.length, x.length);
  for (let i = 0; i < nb; i++) {
    const xo = i * QK_K;
    const o = i * TYPE_SIZE;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, x, xo + 16 * ib, L, 16 * ib, 1);
      scales[ib] = scale;
      const abs = Math.abs(scale);
      if (abs > maxAbsScale) {
        maxAbsScale = abs;
        maxScale = scale;
      }
    }

    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, o, o + TYPE_SIZE);
      continue;
    }

    const iscale = fr(-128 / maxScale);
    const dAll = writeF16(dst, o + OFF_D, fr(1 / iscale));
    for (let ib = 0; ib < 16; ib++) {
      dst[o + OFF_SCALES + ib] = Math.min(127, nearestInt(fr(iscale * (scales[ib] as number)))) & 0xff;
    }

    for (let j = 0; j < 16; j++) {
      const d = fr(dAll * toInt8(dst[o + OFF_SCALES + j] as number));
      if (d === 0) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fr((x[xo + 16 * j + ii] as number) / d));
        L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }

    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h;
      const qh = o + OFF_QH + 32 * h;
      const j = 128 * h;
      for (let l = 0; l < 32; l++) {
        const a = L[j + l] as number;
        const b = L[j + l + 32] as number;
        const c = L[j + l + 64] as number;
        const e = L[j + l + 96] as number;
        dst[ql + l] = (a & 0xf) | ((c & 0xf) << 4);
        dst[ql + l + 32] = (b & 0xf) | ((e & 0xf) << 4);
        dst[qh + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
      }
    }
  }
}

export const Q6_K_TRAITS: QuantTraits = {
  type: GGMLType.Q6_K,
  name: 'q6_K',
  blockSize: QK_K,
  typeSize: TYPE_SIZE,
  dequantizeRow,
  quantizeRow,
};
