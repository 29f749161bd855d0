// Non-linear 4-bit types sharing ggml's quantize_row_iq4_nl_impl: IQ4_NL (block_iq4_nl: d, qs[16] = 18 bytes per 32)
// and IQ4_XS (block_iq4_xs: d, scales_h u16, scales_l[4], qs[128] = 136 bytes per 256, 6-bit scales per 32).
// Quants index kvalues_iq4nl; qs byte j of each 32-element group holds elements j (low nibble) and j+16 (high).
import { GGMLType } from '../core/ggml-type.ts';
import type { QuantTraits } from './types.ts';
import { checkRow, readF16, readU16, writeF16, writeU16 } from './block-io.ts';
import { GROUP_MAX_EPS, nearestInt } from './k-helpers.ts';

const fr = Math.fround;
const QK4_NL = 32;
const QK_K = 256;

/** kvalues_iq4nl from ggml-common.h. */
export const KVALUES_IQ4NL: Readonly<Int8Array> = Int8Array.of(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);

// Sums of neighbouring levels: x picks level i once 2x reaches val[i-1] + val[i]. Integers, so the comparison is
// exact (ggml's current best_index_int8; ties go to the upper level).
const MID2 = new Float32Array(16);
for (let j = 1; j < 16; j++) MID2[j] = (KVALUES_IQ4NL[j - 1] as number) + (KVALUES_IQ4NL[j] as number);

/** best_index_int8 over kvalues_iq4nl: index of the nearest level to x (ties to the upper one, NaN to 0). */
export function bestIndexIq4(x: number): number {
  const x2 = fr(x + x);
  let idx = 0;
  for (let step = 8; step > 0; step >>= 1) {
    const j = idx + step;
    if (x2 >= (MID2[j] as number)) idx = j;
  }
  return idx;
}

const L = new Uint8Array(QK_K);
const weight = new Float32Array(32);
const scales = new Float32Array(QK_K / 32);

/**
 * quantize_row_iq4_nl_impl without importance weights, for one super-block of `superBlockSize` (32 or 256) at
 * x[xo]. Block layout offsets are relative to dst: d at `o`, scales_h/scales_l at `oScalesH`/`oScalesL` (IQ4_XS
 * only) and qs at `oQs`. `ntry` > 0 searches 2*ntry+1 extra scales; ntry <= 0 is the fast path of the _ref variant.
 */
function quantizeSuperBlock(superBlockSize: number, x: Float32Array, xo: number, dst: Uint8Array, o: number, oScalesH: number, oScalesL: number, oQs: number, ntry: number): void {
  const v0 = KVALUES_IQ4NL[0] as number;
  let maxScale = 0;
  let amaxScale = 0;
  const nblocks = superBlockSize / 32;
  for (let ib = 0; ib < nblocks; ib++) {
    const xb = xo + 32 * ib;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[xb + j] as number;
      weight[j] = fr(v * v);
      const ax = Math.abs(v);
      if (ax > amax) {
        amax = ax;
        max = v;
      }
    }
    if (amax < GROUP_MAX_EPS) {
      scales[ib] = 0;
      L.fill(0, 32 * ib, 32 * ib + 32);
      continue;
    }
    let d = ntry > 0 ? fr(-max / v0) : fr(max / v0);
    let id = fr(1 / d);
    let sumqx = 0;
    let sumq2 = 0;
    for (let j = 0; j < 32; j++) {
      const xj = x[xb + j] as number;
      const l = bestIndexIq4(fr(id * xj));
      L[32 * ib + j] = l;
      const q = KVALUES_IQ4NL[l] as number;
      const wq = fr((weight[j] as number) * q);
      sumqx = fr(sumqx + fr(wq * xj));
      sumq2 = fr(sumq2 + fr(wq * q));
    }
    d = sumq2 > 0 ? fr(sumqx / sumq2) : 0;
    let best = fr(d * sumqx);
    for (let itry = -ntry; itry <= ntry; itry++) {
      id = fr((itry + v0) / max);
      sumqx = 0;
      sumq2 = 0;
      for (let j = 0; j < 32; j++) {
        const xj = x[xb + j] as number;
        const q = KVALUES_IQ4NL[bestIndexIq4(fr(id * xj))] as number;
        const wq = fr((weight[j] as number) * q);
        sumqx = fr(sumqx + fr(wq * xj));
        sumq2 = fr(sumq2 + fr(wq * q));
      }
      if (sumq2 > 0 && fr(sumqx * sumqx) > fr(best * sumq2)) {
        d = fr(sumqx / sumq2);
        best = fr(d * sumqx);
      }
    }
    scales[ib] = d;
    const absD = Math.abs(d);
    if (absD > amaxScale) {
      amaxScale = absD;
      maxScale = d;
    }
  }

  if (nblocks > 1) {
    let scalesH = 0;
    const d = fr(-maxScale / 32);
    writeF16(dst, o, d);
    const id = d !== 0 ? fr(1 / d) : 0;
    for (let ib = 0; ib < nblocks; ib++) {
      let l = nearestInt(fr(id * (scales[ib] as number)));
      l = Math.max(-32, Math.min(31, l));
      const dl = fr(d * l);
      const idl = dl !== 0 ? fr(1 / dl) : 0;
      const xb = xo + 32 * ib;
      for (let j = 0; j < 32; j++) L[32 * ib + j] = bestIndexIq4(fr(idl * (x[xb + j] as number)));
      l += 32;
      const lLow = l & 0xf;
      const lHigh = l >> 4;
      const sl = oScalesL + (ib >> 1);
      dst[sl] = ib % 2 === 0 ? lLow : (dst[sl] as number) | (lLow << 4);
      scalesH |= lHigh << (2 * (ib % 8));
    }
    writeU16(dst, oScalesH, scalesH);
  } else {
    const s = scales[0] as number;
    writeF16(dst, o, s);
    if (ntry > 0) {
      const id = s !== 0 ? fr(1 / s) : 0;
      for (let j = 0; j < superBlockSize; j++) L[j] = bestIndexIq4(fr(id * (x[xo + j] as number)));
    }
  }

  for (let i = 0; i < superBlockSize / 32; i++) {
    for (let j = 0; j < 16; j++) dst[oQs + 16 * i + j] = (L[32 * i + j] as number) | ((L[32 * i + 16 + j] as number) << 4);
  }
}

function dequantizeIq4Nl(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkRow('iq4_nl', QK4_NL, 18, n, src.length, dst.length);
  for (let i = 0; i < nb; i++) {
    const o = i * 18;
    const d = readF16(src, o);
    const y = i * QK4_NL;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j] as number;
      dst[y + j] = fr(d * (KVALUES_IQ4NL[q & 0xf] as number));
      dst[y + j + 16] = fr(d * (KVALUES_IQ4NL[q >> 4] as number));
    }
  }
}

function quantizeIq4Nl(ntry: number, x: Float32Array, dst: Uint8Array, n: number): void {
  const nb = checkRow('iq4_nl', QK4_NL, 18, n, dst.length, x.length);
  for (let i = 0; i < nb; i++) quantizeSuperBlock(QK4_NL, x, i * QK4_NL, dst, i * 18, -1, -1, i * 18 + 2, ntry);
}

/**
 * quantize_row_iq4_nl_ref (ntry = -1: one least-squares scale, no search). The registered quantizer instead matches
 * quantize_iq4_nl, which is what llama-quantize writes (ntry = 7).
 */
export function quantizeRowIq4NlRef(x: Float32Array, dst: Uint8Array, n: number): void {
  quantizeIq4Nl(-1, x, dst, n);
}

function dequantizeIq4Xs(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkRow('iq4_xs', QK_K, 136, n, src.length, dst.length);
  for (let i = 0; i < nb; i++) {
    const o = i * 136;
    const d = readF16(src, o);
    const scalesH = readU16(src, o + 2);
    for (let ib = 0; ib < 8; ib++) {
      const ls = (((src[o + 4 + (ib >> 1)] as number) >> (4 * (ib % 2))) & 0xf) | (((scalesH >> (2 * ib)) & 3) << 4);
      const dl = fr(d * (ls - 32));
      const qs = o + 8 + 16 * ib;
      const y = i * QK_K + 32 * ib;
      for (let j = 0; j < 16; j++) {
        const q = src[qs + j] as number;
        dst[y + j] = fr(dl * (KVALUES_IQ4NL[q & 0xf] as number));
        dst[y + j + 16] = fr(dl * (KVALUES_IQ4NL[q >> 4] as number));
      }
    }
  }
}

function quantizeIq4Xs(x: Float32Array, dst: Uint8Array, n: number): void {
  const nb = checkRow('iq4_xs', QK_K, 136, n, dst.length, x.length);
  for (let i = 0; i < nb; i++) {
    const o = i * 136;
    quantizeSuperBlock(QK_K, x, i * QK_K, dst, o, o + 2, o + 4, o + 8, 7);
  }
}

export const IQ4_NL_TRAITS: QuantTraits = {
  type: GGMLType.IQ4_NL,
  name: 'iq4_nl',
  blockSize: QK4_NL,
  typeSize: 18,
  dequantizeRow: dequantizeIq4Nl,
  quantizeRow: (x, dst, n) => quantizeIq4Nl(7, x, dst, n),
};

export const IQ4_XS_TRAITS: QuantTraits = {
  type: GGMLType.IQ4_XS,
  name: 'iq4_xs',
  blockSize: QK_K,
  typeSize: 136,
  dequantizeRow: dequantizeIq4Xs,
  quantizeRow: quantizeIq4Xs,
};
