// Hand-built blocks: bytes are assembled field by field from ggml's block_* struct layouts and the expected values
// come from the dequantization formula written out here, so a layout bug cannot cancel out as it can in a round
// trip. All chosen values are dyadic so the expected floats are exact.
import { describe, it, expect } from 'vitest';
import { BlockBuilder, H, dequantBytes, traitsByName } from './helpers.ts';

// kvalues_iq4nl, written out again here on purpose (not imported) so a typo in the source table is caught.
const KV = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

describe('hand-built blocks: float types', () => {
  it('f32 reads little-endian IEEE singles', () => {
    const b = new Uint8Array([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0, 0xcd, 0xcc, 0xcc, 0x3d]);
    expect(Array.from(dequantBytes('f32', b, 3))).toEqual([1, -2.5, Math.fround(0.1)]);
  });

  it('f16 decodes normals, subnormals, extremes, signed zero, inf and NaN', () => {
    const cases: Array<[number, number]> = [
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 0.333251953125],
      [0x7bff, 65504],
      [0x0400, 2 ** -14],
      [0x0001, 2 ** -24],
      [0x03ff, 1023 * 2 ** -24],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
      [0x8000, -0],
    ];
    const b = new BlockBuilder(2 * (cases.length + 1));
    cases.forEach(([h], i) => b.u16(2 * i, h));
    b.u16(2 * cases.length, 0x7e00);
    const y = dequantBytes('f16', b.bytes, cases.length + 1);
    cases.forEach(([h, v], i) => expect(Object.is(y[i], v), `0x${h.toString(16)} -> ${y[i]}`).toBe(true));
    expect(Number.isNaN(y[cases.length])).toBe(true);
  });

  it('bf16 is the top half of an fp32', () => {
    const b = new BlockBuilder(10).u16(0, 0x3f80).u16(2, 0xc0a0).u16(4, 0x7f80).u16(6, 0x0001).u16(8, 0x3e2a);
    const y = Array.from(dequantBytes('bf16', b.bytes, 5));
    expect(y).toEqual([1, -5, Infinity, 2 ** -133, 0.166015625]);
  });
});

describe('hand-built blocks: 32-element types', () => {
  it('q4_0: d, then qs[j] = element j (low nibble) | element j+16 (high nibble); x = (q-8)*d', () => {
    const b = new BlockBuilder(36);
    const lo = (j: number) => j;
    const hi = (j: number) => (j * 7 + 3) & 15;
    b.u16(0, H.half).u16(18, 0xc000); // block 0: d = 0.5, block 1: d = -2
    for (let j = 0; j < 16; j++) {
      b.u8(2 + j, lo(j) | (hi(j) << 4));
      b.u8(20 + j, hi(j) | (lo(j) << 4));
    }
    const y = dequantBytes('q4_0', b.bytes, 64);
    for (let j = 0; j < 16; j++) {
      expect(y[j]).toBe((lo(j) - 8) * 0.5);
      expect(y[j + 16]).toBe((hi(j) - 8) * 0.5);
      expect(y[32 + j]).toBe((hi(j) - 8) * -2);
      expect(y[48 + j]).toBe((lo(j) - 8) * -2);
    }
  });

  it('q4_1: d, m, qs; x = q*d + m', () => {
    const b = new BlockBuilder(20).u16(0, H.quarter).u16(2, H.minusOne);
    for (let j = 0; j < 16; j++) b.u8(4 + j, (15 - j) | (((j * 5) & 15) << 4));
    const y = dequantBytes('q4_1', b.bytes, 32);
    for (let j = 0; j < 16; j++) {
      expect(y[j]).toBe((15 - j) * 0.25 - 1);
      expect(y[j + 16]).toBe(((j * 5) & 15) * 0.25 - 1);
    }
  });

  it('q5_0: d, qh (u32: bit j = 5th bit of element j), qs; x = (q-16)*d', () => {
    const qh = 0x9f0a3c65;
    const b = new BlockBuilder(22).u16(0, H.half).u32(2, qh);
    for (let j = 0; j < 16; j++) b.u8(6 + j, ((j * 3) & 15) | (((j * 11 + 2) & 15) << 4));
    const y = dequantBytes('q5_0', b.bytes, 32);
    for (let j = 0; j < 16; j++) {
      const q0 = ((j * 3) & 15) | (((qh >>> j) & 1) << 4);
      const q1 = ((j * 11 + 2) & 15) | (((qh >>> (j + 16)) & 1) << 4);
      expect(y[j]).toBe((q0 - 16) * 0.5);
      expect(y[j + 16]).toBe((q1 - 16) * 0.5);
    }
  });

  it('q5_1: d, m, qh, qs; x = q*d + m', () => {
    const qh = 0x5ac3e817;
    const b = new BlockBuilder(24).u16(0, H.quarter).u16(2, H.half).u32(4, qh);
    for (let j = 0; j < 16; j++) b.u8(8 + j, ((j * 9 + 1) & 15) | ((j & 15) << 4));
    const y = dequantBytes('q5_1', b.bytes, 32);
    for (let j = 0; j < 16; j++) {
      const q0 = ((j * 9 + 1) & 15) | (((qh >>> j) & 1) << 4);
      const q1 = j | (((qh >>> (j + 16)) & 1) << 4);
      expect(y[j]).toBe(q0 * 0.25 + 0.5);
      expect(y[j + 16]).toBe(q1 * 0.25 + 0.5);
    }
  });

  it('q8_0: d, int8 qs; x = q*d', () => {
    const b = new BlockBuilder(34).u16(0, H.eighth);
    const v = (j: number) => ((j * 37) % 256) - 128;
    for (let j = 0; j < 32; j++) b.u8(2 + j, v(j));
    const y = dequantBytes('q8_0', b.bytes, 32);
    for (let j = 0; j < 32; j++) expect(y[j]).toBe(v(j) * 0.125);
  });

  it('q8_1: d, s (ignored by dequantization), int8 qs', () => {
    const b = new BlockBuilder(36).u16(0, H.half).u16(2, 0x7c00);
    for (let j = 0; j < 32; j++) b.u8(4 + j, 127 - 8 * j);
    const y = dequantBytes('q8_1', b.bytes, 32);
    for (let j = 0; j < 32; j++) expect(y[j]).toBe((127 - 8 * j) * 0.5);
  });

  it('iq4_nl: d, qs; x = d*kvalues[q]', () => {
    const b = new BlockBuilder(18).u16(0, H.half);
    for (let j = 0; j < 16; j++) b.u8(2 + j, j | ((15 - j) << 4));
    const y = dequantBytes('iq4_nl', b.bytes, 32);
    for (let j = 0; j < 16; j++) {
      expect(y[j]).toBe(0.5 * (KV[j] as number));
      expect(y[j + 16]).toBe(0.5 * (KV[15 - j] as number));
    }
  });
});

describe('hand-checked quantizer output', () => {
  it('q4_0 of integers -8..7 gives d = 1 and the integers + 8 as nibbles', () => {
    const x = new Float32Array(32);
    for (let j = 0; j < 32; j++) x[j] = (j % 16) - 8;
    const q = new Uint8Array(18);
    traitsByName('q4_0').quantizeRow(x, q, 32);
    const expected = [0x00, 0x3c];
    for (let j = 0; j < 16; j++) expected.push(j | (j << 4));
    expect(Array.from(q)).toEqual(expected);
  });

  it('q8_0 of integers with max |x| = 127 gives d = 1 and the integers', () => {
    const x = new Float32Array(32);
    for (let j = 0; j < 32; j++) x[j] = j * 8 - 127;
    const q = new Uint8Array(34);
    traitsByName('q8_0').quantizeRow(x, q, 32);
    expect(Array.from(q)).toEqual([0x00, 0x3c, ...Array.from(x, (v) => v & 0xff)]);
  });

  it('q8_0 rounds halves away from zero (roundf), not up', () => {
    const x = new Float32Array(32);
    x[0] = 127;
    x[1] = -2.5;
    x[2] = 2.5;
    const q = new Uint8Array(34);
    traitsByName('q8_0').quantizeRow(x, q, 32);
    expect([q[2], q[3], q[4]]).toEqual([127, -3 & 0xff, 3]);
  });

  it('q8_1 stores s = d * sum(q) as fp16', () => {
    const x = new Float32Array(32);
    for (let j = 0; j < 32; j++) x[j] = j === 0 ? -127 : j;
    const q = new Uint8Array(36);
    traitsByName('q8_1').quantizeRow(x, q, 32);
    const sum = -127 + (31 * 32) / 2; // 369
    expect((q[0] as number) | ((q[1] as number) << 8)).toBe(0x3c00);
    // 369 = 1.0111 0001 x 2^8 -> fp16 exponent 15+8 = 23, mantissa 0b0111000100
    expect((q[2] as number) | ((q[3] as number) << 8)).toBe((23 << 10) | 0b0111000100);
    expect(sum).toBe(369);
  });
});

describe('iq4 level search (best_index_int8)', () => {
  it('picks the nearest kvalue, the upper one on an exact midpoint, and clamps outside the table', async () => {
    const { bestIndexIq4 } = await import('../../src/quant/iq4.ts');
    for (let j = 1; j < 16; j++) {
      const mid = ((KV[j - 1] as number) + (KV[j] as number)) / 2;
      expect(bestIndexIq4(mid), `midpoint ${mid}`).toBe(j);
      expect(bestIndexIq4(Math.fround(mid - 0.01)), `below ${mid}`).toBe(j - 1);
      expect(bestIndexIq4(KV[j] as number)).toBe(j);
    }
    expect(bestIndexIq4(-1000)).toBe(0);
    expect(bestIndexIq4(1000)).toBe(15);
    expect(bestIndexIq4(NaN)).toBe(0);
  });
});
