// quantize -> dequantize error on Gaussian data for every registered type, against per-type budgets derived from
// the format, plus the re-quantization check (dequantized output is already on the grid).
import { describe, it, expect } from 'vitest';
import { QUANT_TRAITS } from '../../src/quant/index.ts';
import { freshSeed, gaussian, makeRng, nmse, roundTrip } from './helpers.ts';

// NMSE budgets for N(0,1) data. A uniform grid with step D has MSE ~ D^2/12; D follows from the levels per
// block and the block's range (expected max |x| of 16/32/256 Gaussians ~ 1.8/2.1/2.9). Budgets sit ~1.3x above
// the worst of repeated runs so they flag a real regression (a wrong nibble or scale costs 10x) but not noise.
//  f16/bf16: hard bounds u^2 with unit roundoff u = 2^-11 / 2^-8.
//  q8_0/q8_1: D = amax/127 over 32 -> 2.3e-5 (measured 2.9e-5). q8_K: amax/127 over 256 -> 4.3e-5 (5.2e-5).
//  q4_0: D = amax/8 (levels -8..7) -> 5.7e-3 (7.6e-3). q4_1: D = range/15 -> 6.5e-3 (6.2e-3).
//  q5_0: D = amax/16 -> 1.4e-3 (1.9e-3). q5_1: D = range/31 -> 1.5e-3 (1.5e-3).
//  q2_K: 4 levels per 16 -> D ~ range/3 -> 0.12 before the MAD search (9.0e-2).
//  q3_K: 8 levels per 16 -> D ~ amax/4 -> 1.7e-2 plus 6-bit scales (2.3e-2).
//  q4_K: D = range(32)/15 -> 6.2e-3 before the search (5.2e-3). q5_K: range/31 -> 1.5e-3 (1.3e-3).
//  q6_K: D = amax(16)/32 -> 2.6e-4 plus 8-bit scales (3.2e-4).
//  iq4_nl/iq4_xs: 16 non-uniform levels per 32, comparable to q4_1 (5.9e-3 / 6.1e-3).
const NMSE_BUDGET: Readonly<Record<string, number>> = {
  f32: 0,
  f16: 2 ** -22,
  bf16: 2 ** -16,
  q4_0: 1.0e-2,
  q4_1: 8.0e-3,
  q5_0: 2.5e-3,
  q5_1: 2.0e-3,
  q8_0: 5.0e-5,
  q8_1: 5.0e-5,
  q2_K: 0.11,
  q3_K: 3.0e-2,
  q4_K: 6.5e-3,
  q5_K: 1.7e-3,
  q6_K: 4.0e-4,
  q8_K: 8.0e-5,
  iq4_nl: 7.5e-3,
  iq4_xs: 7.5e-3,
};

// One fp16/fp32 scale per block and a plain rounding rule: re-quantizing a dequantized row reproduces it exactly.
// (Values, not bytes: q8_1's s = d*sum is computed from the unrounded d, so it may move by one fp16 ulp.)
const EXACT_REQUANT = new Set(['f32', 'f16', 'bf16', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q8_0', 'q8_1']);

const N = 256 * 64;

describe('quantize -> dequantize on Gaussian data', () => {
  it('has a budget for every registered type', () => {
    for (const t of QUANT_TRAITS.values()) expect(NMSE_BUDGET[t.name], t.name).toBeDefined();
  });

  for (const t of QUANT_TRAITS.values()) {
    it(`${t.name}: NMSE within budget, re-quantization stable`, () => {
      const seed = freshSeed();
      const rng = makeRng(seed);
      const budget = NMSE_BUDGET[t.name] ?? 0;
      const x = gaussian(rng, N);
      const { y } = roundTrip(t, x);
      const err = nmse(x, y);
      expect(err, `${t.name} seed=${seed}`).toBeLessThanOrEqual(budget);
      if (t.name !== 'f32') expect(err, `${t.name} seed=${seed}: lossy format reported no error`).toBeGreaterThan(0);
      for (let i = 0; i < N; i++) if (!Number.isFinite(y[i])) throw new Error(`${t.name} seed=${seed}: y[${i}] = ${y[i]}`);

      const again = roundTrip(t, y);
      if (EXACT_REQUANT.has(t.name)) {
        expect(again.y, `${t.name} seed=${seed}: values changed on re-quantization`).toEqual(y);
      } else {
        // Search-based quantizers may pick a neighbouring grid; the drift must stay far below the format error.
        expect(nmse(y, again.y), `${t.name} seed=${seed}`).toBeLessThanOrEqual(budget / 10);
      }
    });
  }

  it('scales with the data: NMSE is the same for sigma = 1e-2 and 1e3 on scale-invariant formats', () => {
    const seed = freshSeed();
    for (const t of QUANT_TRAITS.values()) {
      if (t.name === 'f32') continue;
      const budget = NMSE_BUDGET[t.name] ?? 0;
      for (const sigma of [1e-2, 1e3]) {
        const x = gaussian(makeRng(seed), N, sigma);
        expect(nmse(x, roundTrip(t, x).y), `${t.name} sigma=${sigma} seed=${seed}`).toBeLessThanOrEqual(budget);
      }
    }
  });

  it('respects byteOffset of subarray views on both sides', () => {
    const seed = freshSeed();
    for (const t of QUANT_TRAITS.values()) {
      const n = t.blockSize === 1 ? 64 : t.blockSize * 2;
      const x = gaussian(makeRng(seed), n);
      const plain = roundTrip(t, x);
      // Odd offsets defeat any aligned typed-array shortcut and catch code that forgets the view's offset.
      const xBig = new Float32Array(n + 3);
      xBig.set(x, 3);
      const qBig = new Uint8Array(plain.q.length + 7).fill(0xa5);
      const qView = qBig.subarray(5, 5 + plain.q.length);
      t.quantizeRow(xBig.subarray(3), qView, n);
      expect(qView, `${t.name} seed=${seed}`).toEqual(plain.q);
      expect(qBig[4], t.name).toBe(0xa5);
      expect(qBig[5 + plain.q.length], t.name).toBe(0xa5);
      const yBig = new Float32Array(n + 2).fill(-7);
      t.dequantizeRow(qView, yBig.subarray(1, 1 + n), n);
      expect(yBig.subarray(1, 1 + n), `${t.name} seed=${seed}`).toEqual(plain.y);
      expect(yBig[0]).toBe(-7);
      expect(yBig[n + 1]).toBe(-7);
    }
  });
});
