// Hand-built super-blocks of 256 for the k-quants and IQ4_XS: bytes assembled field by field from ggml's block_*
// layouts, expected values from the formulas written out here. Scales and quants are picked to exercise every bit
// position (high scale bits, 5th/6th quant bits) and all values are dyadic, so comparisons are exact.
import { describe, it, expect } from 'vitest';
import { BlockBuilder, H, dequantBytes, traitsByName } from './helpers.ts';

const KV = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** Position of element e (0..255) in the common "128-element halves, 32-element columns" layout. */
function halfColLane(e: number): { h: number; c: number; l: number } {
  return { h: e >> 7, c: (e >> 5) & 3, l: e & 31 };
}

describe('hand-built blocks: k-quants', () => {
  it('q2_K: scales[16] (sc | m<<4), qs[64], d, dmin; x = d*sc*q - dmin*m per 16', () => {
    const sc = (g: number) => (g * 5 + 1) & 15;
    const m = (g: number) => (g * 3) & 15;
    const q = (e: number) => (e * 11 + (e >> 3)) & 3;
    const b = new BlockBuilder(84).u16(80, H.half).u16(82, H.quarter);
    for (let g = 0; g < 16; g++) b.u8(g, sc(g) | (m(g) << 4));
    for (let e = 0; e < 256; e++) {
      const { h, c, l } = halfColLane(e);
      b.u8(16 + 32 * h + l, (b.bytes[16 + 32 * h + l] as number) | (q(e) << (2 * c)));
    }
    const y = dequantBytes('q2_K', b.bytes, 256);
    for (let e = 0; e < 256; e++) expect(y[e], `e=${e}`).toBe(0.5 * sc(e >> 4) * q(e) - 0.25 * m(e >> 4));
  });

  it('q3_K: hmask[32], qs[64], scales[12] (6-bit, -32), d; x = d*(sc-32)*(q-4)', () => {
    const s = (g: number) => (g * 13 + 7) & 63;
    const q = (e: number) => (e * 5 + (e >> 2)) & 7;
    const b = new BlockBuilder(110).u16(108, H.quarter);
    for (let g = 0; g < 16; g++) {
      const low = s(g) & 15;
      if (g < 8) b.u8(96 + g, (b.bytes[96 + g] as number) | low);
      else b.u8(96 + g - 8, (b.bytes[96 + g - 8] as number) | (low << 4));
      b.u8(96 + 8 + (g % 4), (b.bytes[96 + 8 + (g % 4)] as number) | ((s(g) >> 4) << (2 * (g >> 2))));
    }
    for (let e = 0; e < 256; e++) {
      const { h, c, l } = halfColLane(e);
      b.u8(32 + 32 * h + l, (b.bytes[32 + 32 * h + l] as number) | ((q(e) & 3) << (2 * c)));
      if (q(e) >> 2) b.u8(e & 31, (b.bytes[e & 31] as number) | (1 << (e >> 5)));
    }
    const y = dequantBytes('q3_K', b.bytes, 256);
    for (let e = 0; e < 256; e++) expect(y[e], `e=${e}`).toBe(0.25 * (s(e >> 4) - 32) * (q(e) - 4));
  });

  // 6-bit scales and mins with the top bits set in various places.
  const SC = [1, 63, 17, 48, 33, 62, 7, 50];
  const MN = [60, 2, 45, 19, 0, 63, 31, 36];

  function packK4(b: BlockBuilder, o: number): void {
    for (let j = 0; j < 4; j++) {
      b.u8(o + j, (SC[j] as number) | (((SC[j + 4] as number) >> 4) << 6));
      b.u8(o + j + 4, (MN[j] as number) | (((MN[j + 4] as number) >> 4) << 6));
      b.u8(o + j + 8, ((SC[j + 4] as number) & 15) | (((MN[j + 4] as number) & 15) << 4));
    }
  }

  it('q4_K: d, dmin, scales[12] (get_scale_min_k4), qs[128]; x = d*sc*q - dmin*m per 32', () => {
    const q = (e: number) => (e * 7 + (e >> 5)) & 15;
    const b = new BlockBuilder(144).u16(0, H.half).u16(2, H.eighth);
    packK4(b, 4);
    for (let e = 0; e < 256; e++) {
      const chunk = e >> 6;
      const l = e & 31;
      const high = (e >> 5) & 1;
      b.u8(16 + 32 * chunk + l, (b.bytes[16 + 32 * chunk + l] as number) | (q(e) << (4 * high)));
    }
    const y = dequantBytes('q4_K', b.bytes, 256);
    for (let e = 0; e < 256; e++) {
      const g = e >> 5;
      expect(y[e], `e=${e}`).toBe(0.5 * (SC[g] as number) * q(e) - 0.125 * (MN[g] as number));
    }
  });

  it('q5_K: d, dmin, scales[12], qh[32], qs[128]; 5th bit of element 64c+32k+l in qh[l] bit 2c+k', () => {
    const q = (e: number) => (e * 13 + (e >> 4)) & 31;
    const b = new BlockBuilder(176).u16(0, H.quarter).u16(2, H.half);
    packK4(b, 4);
    for (let e = 0; e < 256; e++) {
      const chunk = e >> 6;
      const l = e & 31;
      const k = (e >> 5) & 1;
      b.u8(48 + 32 * chunk + l, (b.bytes[48 + 32 * chunk + l] as number) | ((q(e) & 15) << (4 * k)));
      if (q(e) >> 4) b.u8(16 + l, (b.bytes[16 + l] as number) | (1 << (2 * chunk + k)));
    }
    const y = dequantBytes('q5_K', b.bytes, 256);
    for (let e = 0; e < 256; e++) {
      const g = e >> 5;
      expect(y[e], `e=${e}`).toBe(0.25 * (SC[g] as number) * q(e) - 0.5 * (MN[g] as number));
    }
  });

  it('q6_K: ql[128], qh[64], int8 scales[16], d; x = d*sc*(q-32) per 16', () => {
    const S = [-128, 127, -1, 5, 64, -77, 0, 1, 100, -3, 33, -64, 9, -100, 2, 50];
    const q = (e: number) => (e * 29 + (e >> 3)) & 63;
    const b = new BlockBuilder(210).u16(208, H.quarter);
    S.forEach((v, g) => b.u8(192 + g, v));
    for (let e = 0; e < 256; e++) {
      const { h, c, l } = halfColLane(e);
      // columns 0,1 use the low nibbles of ql[64h+l], ql[64h+32+l]; columns 2,3 their high nibbles
      const qlByte = 64 * h + 32 * (c & 1) + l;
      b.u8(qlByte, (b.bytes[qlByte] as number) | ((q(e) & 15) << (4 * (c >> 1))));
      b.u8(128 + 32 * h + l, (b.bytes[128 + 32 * h + l] as number) | ((q(e) >> 4) << (2 * c)));
    }
    const y = dequantBytes('q6_K', b.bytes, 256);
    for (let e = 0; e < 256; e++) expect(y[e], `e=${e}`).toBe(0.25 * (S[e >> 4] as number) * (q(e) - 32));
  });

  it('q8_K: f32 d, int8 qs[256], int16 bsums[16] (ignored by dequantization)', () => {
    const b = new BlockBuilder(292).f32(0, 0.375);
    const v = (e: number) => ((e * 83) % 255) - 127;
    for (let e = 0; e < 256; e++) b.u8(4 + e, v(e));
    for (let j = 0; j < 16; j++) b.u16(260 + 2 * j, 0xdead);
    const y = dequantBytes('q8_K', b.bytes, 256);
    for (let e = 0; e < 256; e++) expect(y[e]).toBe(0.375 * v(e));
  });

  it('iq4_xs: d, scales_h (2 bits per 32), scales_l[4] (nibbles), qs[128]; x = d*(ls-32)*kvalues[q]', () => {
    const LS = [0, 63, 32, 17, 46, 1, 31, 50];
    const nib = (e: number) => (e * 7 + (e >> 5)) & 15;
    const b = new BlockBuilder(136).u16(0, H.half);
    let scalesH = 0;
    LS.forEach((ls, ib) => {
      b.u8(4 + (ib >> 1), (b.bytes[4 + (ib >> 1)] as number) | ((ls & 15) << (4 * (ib & 1))));
      scalesH |= (ls >> 4) << (2 * ib);
    });
    b.u16(2, scalesH);
    for (let e = 0; e < 256; e++) {
      const ib = e >> 5;
      const j = e & 15;
      const high = (e >> 4) & 1;
      b.u8(8 + 16 * ib + j, (b.bytes[8 + 16 * ib + j] as number) | (nib(e) << (4 * high)));
    }
    const y = dequantBytes('iq4_xs', b.bytes, 256);
    for (let e = 0; e < 256; e++) expect(y[e], `e=${e}`).toBe(0.5 * ((LS[e >> 5] as number) - 32) * (KV[nib(e)] as number));
  });
});

describe('hand-checked k-quant quantizer output', () => {
  it('q8_K of integers with max |x| = 127 gives d = 1, the integers, and their sums per 16', () => {
    const x = new Float32Array(256);
    for (let e = 0; e < 256; e++) x[e] = ((e * 37) % 255) - 127;
    const q = new Uint8Array(292);
    traitsByName('q8_K').quantizeRow(x, q, 256);
    const dv = new DataView(q.buffer);
    expect(dv.getFloat32(0, true)).toBe(1);
    for (let e = 0; e < 256; e++) expect(dv.getInt8(4 + e)).toBe(x[e]);
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let e = 16 * j; e < 16 * j + 16; e++) sum += x[e] as number;
      expect(dv.getInt16(260 + 2 * j, true), `bsums[${j}]`).toBe(sum);
    }
  });

  it('q6_K reproduces integers -32..31 exactly when every group of 16 reaches -32', () => {
    // max = -32 makes iscale = 1, the weighted fit is exact (scale 1), and -128 * d with d = -1/128 gives 1 again.
    const x = new Float32Array(256);
    for (let e = 0; e < 256; e++) x[e] = e % 16 === 0 ? -32 : ((e * 19) % 64) - 32;
    const q = new Uint8Array(210);
    traitsByName('q6_K').quantizeRow(x, q, 256);
    expect((q[208] as number) | ((q[209] as number) << 8), 'd = -1/128').toBe(0xa000);
    for (let g = 0; g < 16; g++) expect(q[192 + g], `scales[${g}]`).toBe(0x80);
    const y = new Float32Array(256);
    traitsByName('q6_K').dequantizeRow(q, y, 256);
    expect(Array.from(y)).toEqual(Array.from(x));
  });
});
