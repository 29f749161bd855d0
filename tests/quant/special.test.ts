// Special inputs: zero blocks, constant blocks, large magnitudes and outliers for every type, and the fp16/bf16
// rounding edge cases ggml's converters define (round to nearest even, overflow to inf, subnormals, NaN).
import { describe, it, expect } from 'vitest';
import { QUANT_TRAITS, bf16ToFp32, fp16ToFp32, fp32ToBf16, fp32ToFp16 } from '../../src/quant/index.ts';
import { freshSeed, gaussian, makeRng, nmse, roundTrip } from './helpers.ts';

const N = 512; // whole blocks for every type

function f32FromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0] as number;
}

describe('special blocks for every type', () => {
  it('an all-zero row decodes to zeros', () => {
    for (const t of QUANT_TRAITS.values()) {
      const { y } = roundTrip(t, new Float32Array(N));
      // -0 is fine (q4_0 stores d = 0/-8 = -0, as ggml does).
      for (let i = 0; i < N; i++) expect(y[i] === 0, `${t.name}[${i}] = ${y[i]}`).toBe(true);
    }
  });

  it('k-quants encode an all-zero super-block as all-zero bytes (ggml writes zero scales and quants)', () => {
    for (const name of ['q2_K', 'q3_K', 'q4_K', 'q5_K', 'q6_K', 'q8_K']) {
      const t = [...QUANT_TRAITS.values()].find((v) => v.name === name);
      if (t === undefined) throw new Error(name);
      const q = new Uint8Array(t.typeSize).fill(0xee); // stale bytes must be overwritten
      t.quantizeRow(new Float32Array(256), q, 256);
      expect(Array.from(q).every((b) => b === 0), name).toBe(true);
    }
  });

  it('a constant row is reproduced to within fp16 scale rounding', () => {
    // A constant sits exactly on every grid up to the fp16 rounding of the scale (2^-11 relative) times small
    // integer factors; bf16 itself only carries 8 significant bits.
    for (const t of QUANT_TRAITS.values()) {
      const tol = t.name === 'bf16' ? 2 ** -8 : 1e-3;
      for (const c of [0.75, -1.25, 1234.5, -0.1]) {
        const { y } = roundTrip(t, new Float32Array(N).fill(c));
        for (let i = 0; i < N; i++) expect(Math.abs((y[i] as number) - c) / Math.abs(c), `${t.name} c=${c} [${i}]`).toBeLessThanOrEqual(tol);
      }
    }
  });

  it('large magnitudes (sigma = 1e4) keep the Gaussian error level and stay finite', () => {
    const seed = freshSeed();
    const x = gaussian(makeRng(seed), N * 8, 1e4);
    for (const t of QUANT_TRAITS.values()) {
      const { y } = roundTrip(t, x);
      expect(y.every(Number.isFinite), `${t.name} seed=${seed}`).toBe(true);
      // Loosest Gaussian budget of the lossy formats (q2_K's 0.11): a broken scale path would be off by orders.
      expect(nmse(x, y), `${t.name} seed=${seed}`).toBeLessThan(0.11);
    }
  });

  it('an outlier of 1e4 among values in [-0.5, 0.5] is kept to 2e-3 relative', () => {
    const x = new Float32Array(N);
    for (let i = 0; i < N; i++) x[i] = ((i * 7) % 13) / 13 - 0.5;
    x[77] = 1e4;
    for (const t of QUANT_TRAITS.values()) {
      const { y } = roundTrip(t, x);
      expect(Math.abs((y[77] as number) - 1e4) / 1e4, t.name).toBeLessThanOrEqual(2e-3);
    }
  });
});

describe('fp16 conversion (ggml_compute_fp32_to_fp16)', () => {
  it('rounds to nearest even, overflows to inf, keeps subnormals and maps NaN to 0x7E00', () => {
    const cases: Array<[number, number]> = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65519.99, 0x7bff], // below the midpoint between 65504 and 65536
      [65520, 0x7c00], // the midpoint rounds to even: the (infinite) exponent-overflow value
      [-65520, 0xfc00],
      [1e6, 0x7c00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // half of it: tie to even -> 0
      [f32FromBits(0x33000001), 0x0001], // just above that tie
      [3 * 2 ** -25, 0x0002], // 1.5 ulp: tie to even -> 2
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10 -> even (1)
      [1 + 3 * 2 ** -11, 0x3c02], // tie between 1+2^-10 and 1+2^-9 -> even
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
      [0.1, 0x2e66],
      [-0, 0x8000],
      [0, 0x0000],
      [NaN, 0x7e00],
      [f32FromBits(0xffc00001), 0xfe00], // negative NaN keeps its sign
      [f32FromBits(0x7f800001), 0x7e00], // signalling NaN payload
    ];
    for (const [x, h] of cases) expect(fp32ToFp16(x).toString(16), `${x}`).toBe(h.toString(16));
  });

  it('every non-NaN half survives fp16 -> fp32 -> fp16; NaN halves come back as sign|0x7E00', () => {
    for (let h = 0; h < 65536; h++) {
      const f = fp16ToFp32(h);
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      expect(Number.isNaN(f), `0x${h.toString(16)}`).toBe(isNaN);
      const back = fp32ToFp16(f);
      if (back !== (isNaN ? (h & 0x8000) | 0x7e00 : h)) throw new Error(`0x${h.toString(16)} -> ${f} -> 0x${back.toString(16)}`);
    }
  });
});

describe('bf16 conversion (ggml_compute_fp32_to_bf16)', () => {
  it('rounds to nearest even on ties and keeps NaNs quiet', () => {
    const cases: Array<[number, number]> = [
      [0x3f800000, 0x3f80],
      [0x3f808000, 0x3f80], // tie, 0x3f80 is even
      [0x3f818000, 0x3f82], // tie, rounds up to even
      [0x3f808001, 0x3f81], // above the tie
      [0x3f80ffff, 0x3f81],
      [0xbf818000, 0xbf82], // negative tie
      [0x7f7fffff, 0x7f80], // max float rounds to inf
      [0x7f800000, 0x7f80],
      [0xff800000, 0xff80],
      [0x00000001, 0x0000], // smallest subnormal float rounds to zero
      [0x00008000, 0x0000], // tie at zero stays even
      [0x00018000, 0x0002],
      [0x7fc00000, 0x7fc0],
      [0x7f800001, 0x7fc0], // signalling NaN is made quiet (bit 6 of the half)
      [0xff812345, 0xffc1],
    ];
    for (const [bits, h] of cases) expect(fp32ToBf16(f32FromBits(bits)).toString(16), `0x${bits.toString(16)}`).toBe(h.toString(16));
  });

  it('bf16 -> fp32 is a shift', () => {
    expect(bf16ToFp32(0x3f80)).toBe(1);
    expect(bf16ToFp32(0xc0a0)).toBe(-5);
    expect(bf16ToFp32(0x0001)).toBe(2 ** -133);
    expect(Number.isNaN(bf16ToFp32(0x7fc1))).toBe(true);
  });
});
