// The 32-element "legacy" block types (ggml-quants.c quantize_row_q*_0/1_ref, dequantize_row_q*): one fp16 scale
// (plus a min or a sum) per block. Arithmetic is rounded to float32 at each step, as the C code computes in float.
// C's `d ? 1/d : 0` treats NaN as true while JS treats it as false, hence the explicit `!== 0` tests.
import { GGMLType } from '../core/ggml-type.ts';
import type { QuantTraits } from './types.ts';
import { checkRow, readF16, readU32, roundf, toInt8, writeF16, writeU32 } from './block-io.ts';

const fr = Math.fround;
const QK = 32;
const FLT_MAX = 3.4028234663852886e38;

// (int8_t)/(uint8_t) of a float in ggml: truncate toward zero, then keep the low byte (what x86/ARM code does).
function truncU8(v: number): number {
  return Math.trunc(v) & 0xff;
}

// ---- Q4_0: d, qs[16]; x = (q - 8) * d
function dequantizeQ4_0(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkRow('q4_0', QK, 18, n, src.length, dst.length);
  for (let i = 0; i < nb; i++) {
    const o = i * 18;
    const d = readF16(src, o);
    const y = i * QK;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j] as number;
      dst[y + j] = fr(((q & 0x0f) - 8) * d);
      dst[y + j + 16] = fr(((q >> 4) - 8) * d);
    }
  }
}

function quantizeQ4_0(x: Float32Array, dst: Uint8Array, n: number): void {
  const nb = checkRow('q4_0', QK, 18, n, dst.length, x.length);
  for (let i = 0; i < nb; i++) {
    const xo = i * QK;
    const o = i * 18;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[xo + j] as number;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d !== 0 ? fr(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < 16; j++) {
      const x0 = fr((x[xo + j] as number) * id);
      const x1 = fr((x[xo + 16 + j] as number) * id);
      const xi0 = Math.min(15, toInt8(Math.trunc(fr(x0 + 8.5)))) & 0xff;
      const xi1 = Math.min(15, toInt8(Math.trunc(fr(x1 + 8.5)))) & 0xff;
      dst[o + 2 + j] = xi0 | ((xi1 << 4) & 0xff);
    }
  }
}

// ---- Q4_1: d, m, qs[16]; x = q * d + m
function dequantizeQ4_1(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkRow('q4_1', QK, 20, n, src.length, dst.length);
  for (let i = 0; i < nb; i++) {
    const o = i * 20;
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    const y = i * QK;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j] as number;
      dst[y + j] = fr(fr((q & 0x0f) * d) + m);
      dst[y + j + 16] = fr(fr((q >> 4) * d) + m);
    }
  }
}

function quantizeQ4_1(x: Float32Array, dst: Uint8Array, n: number): void {
  const nb = checkRow('q4_1', QK, 20, n, dst.length, x.length);
  for (let i = 0; i < nb; i++) {
    const xo = i * QK;
    const o = i * 20;
    let min = FLT_MAX;
    let max = -FLT_MAX;
    for (let j = 0; j < QK; j++) {
      const v = x[xo + j] as number;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fr(fr(max - min) / 15);
    const id = d !== 0 ? fr(1 / d) : 0;
    writeF16(dst, o, d);
    writeF16(dst, o + 2, min);
    for (let j = 0; j < 16; j++) {
      const x0 = fr(fr((x[xo + j] as number) - min) * id);
      const x1 = fr(fr((x[xo + 16 + j] as number) - min) * id);
      const xi0 = Math.min(15, toInt8(Math.trunc(fr(x0 + 0.5)))) & 0xff;
      const xi1 = Math.min(15, toInt8(Math.trunc(fr(x1 + 0.5)))) & 0xff;
      dst[o + 4 + j] = xi0 | ((xi1 << 4) & 0xff);
    }
  }
}

// ---- Q5_0: d, qh[4], qs[16]; 5th bit of element j in qh bit j; x = (q - 16) * d
function dequantizeQ5_0(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkRow('q5_0', QK, 22, n, src.length, dst.length);
  for (let i = 0; i < nb; i++) {
    const o = i * 22;
    const d = readF16(src, o);
    const qh = readU32(src, o + 2);
    const y = i * QK;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j] as number;
      const xh0 = ((qh >>> j) << 4) & 0x10;
      const xh1 = (qh >>> (j + 12)) & 0x10;
      dst[y + j] = fr((((q & 0x0f) | xh0) - 16) * d);
      dst[y + j + 16] = fr((((q >> 4) | xh1) - 16) * d);
    }
  }
}

function quantizeQ5_0(x: Float32Array, dst: Uint8Array, n: number): void {
  const nb = checkRow('q5_0', QK, 22, n, dst.length, x.length);
  for (let i = 0; i < nb; i++) {
    const xo = i * QK;
    const o = i * 22;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[xo + j] as number;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -16);
    const id = d !== 0 ? fr(1 / d) : 0;
    writeF16(dst, o, d);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const x0 = fr((x[xo + j] as number) * id);
      const x1 = fr((x[xo + 16 + j] as number) * id);
      const xi0 = Math.min(31, toInt8(Math.trunc(fr(x0 + 16.5)))) & 0xff;
      const xi1 = Math.min(31, toInt8(Math.trunc(fr(x1 + 16.5)))) & 0xff;
      dst[o + 6 + j] = (xi0 & 0x0f) | ((xi1 & 0x0f) << 4);
      qh |= ((xi0 & 0x10) >>> 4) << j;
      qh |= ((xi1 & 0x10) >>> 4) << (j + 16);
    }
    writeU32(dst, o + 2, qh >>> 0);
  }
}

// ---- Q5_1: d, m, qh[4], qs[16]; x = q * d + m
function dequantizeQ5_1(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkRow('q5_1', QK, 24, n, src.length, dst.length);
  for (let i = 0; i < nb; i++) {
    const o = i * 24;
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    const qh = readU32(src, o + 4);
    const y = i * QK;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j] as number;
      const xh0 = ((qh >>> j) << 4) & 0x10;
      const xh1 = (qh >>> (j + 12)) & 0x10;
      dst[y + j] = fr(fr(((q & 0x0f) | xh0) * d) + m);
      dst[y + j + 16] = fr(fr(((q >> 4) | xh1) * d) + m);
    }
  }
}

function quantizeQ5_1(x: Float32Array, dst: Uint8Array, n: number): void {
  const nb = checkRow('q5_1', QK, 24, n, dst.length, x.length);
  for (let i = 0; i < nb; i++) {
    const xo = i * QK;
    const o = i * 24;
    let min = FLT_MAX;
    let max = -FLT_MAX;
    for (let j = 0; j < QK; j++) {
      const v = x[xo + j] as number;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fr(fr(max - min) / 31);
    const id = d !== 0 ? fr(1 / d) : 0;
    writeF16(dst, o, d);
    writeF16(dst, o + 2, min);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const x0 = fr(fr((x[xo + j] as number) - min) * id);
      const x1 = fr(fr((x[xo + 16 + j] as number) - min) * id);
      // No MIN(31, ...) here in ggml: (max-min)*id rounds to at most 31, so 31.5 truncates to 31.
      const xi0 = truncU8(fr(x0 + 0.5));
      const xi1 = truncU8(fr(x1 + 0.5));
      dst[o + 8 + j] = (xi0 & 0x0f) | ((xi1 & 0x0f) << 4);
      qh |= ((xi0 & 0x10) >>> 4) << j;
      qh |= ((xi1 & 0x10) >>> 4) << (j + 16);
    }
    writeU32(dst, o + 4, qh >>> 0);
  }
}

// ---- Q8_0: d, qs[32] int8; x = q * d.  Q8_1 adds s = d * sum(qs) after d.
function dequantizeQ8(name: string, typeSize: number, qsOffset: number, src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkRow(name, QK, typeSize, n, src.length, dst.length);
  for (let i = 0; i < nb; i++) {
    const o = i * typeSize;
    const d = readF16(src, o);
    const y = i * QK;
    for (let j = 0; j < QK; j++) dst[y + j] = fr(toInt8(src[o + qsOffset + j] as number) * d);
  }
}

function quantizeQ8(name: string, typeSize: number, withSum: boolean, x: Float32Array, dst: Uint8Array, n: number): void {
  const nb = checkRow(name, QK, typeSize, n, dst.length, x.length);
  const qsOffset = typeSize - QK;
  for (let i = 0; i < nb; i++) {
    const xo = i * QK;
    const o = i * typeSize;
    let amax = 0;
    for (let j = 0; j < QK; j++) {
      // ggml's MAX(a, b) is `a > b ? a : b`; Math.max would treat NaN differently.
      const a = Math.abs(x[xo + j] as number);
      amax = amax > a ? amax : a;
    }
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    writeF16(dst, o, d);
    let sum = 0;
    for (let j = 0; j < QK; j++) {
      const q = toInt8(roundf(fr((x[xo + j] as number) * id)));
      dst[o + qsOffset + j] = q & 0xff;
      sum += q;
    }
    if (withSum) writeF16(dst, o + 2, fr(sum * d));
  }
}

function legacy(
  type: GGMLType,
  name: string,
  typeSize: number,
  dequantizeRow: QuantTraits['dequantizeRow'],
  quantizeRow: QuantTraits['quantizeRow'],
): QuantTraits {
  return { type, name, blockSize: QK, typeSize, dequantizeRow, quantizeRow };
}

export const Q4_0_TRAITS = legacy(GGMLType.Q4_0, 'q4_0', 18, dequantizeQ4_0, quantizeQ4_0);
export const Q4_1_TRAITS = legacy(GGMLType.Q4_1, 'q4_1', 20, dequantizeQ4_1, quantizeQ4_1);
export const Q5_0_TRAITS = legacy(GGMLType.Q5_0, 'q5_0', 22, dequantizeQ5_0, quantizeQ5_0);
export const Q5_1_TRAITS = legacy(GGMLType.Q5_1, 'q5_1', 24, dequantizeQ5_1, quantizeQ5_1);
export const Q8_0_TRAITS = legacy(
  GGMLType.Q8_0,
  'q8_0',
  34,
  (s, d, n) => dequantizeQ8('q8_0', 34, 2, s, d, n),
  (x, d, n) => quantizeQ8('q8_0', 34, false, x, d, n),
);
export const Q8_1_TRAITS = legacy(
  GGMLType.Q8_1,
  'q8_1',
  36,
  (s, d, n) => dequantizeQ8('q8_1', 36, 4, s, d, n),
  (x, d, n) => quantizeQ8('q8_1', 36, true, x, d, n),
);
