// Shared test utilities for the quant tests: a seedable PRNG (the seed goes into every failure message so a
// failing random case can be replayed), error metrics and byte builders.
import { mulberry32 } from '../../src/core/random.ts';
import { QUANT_TRAITS } from '../../src/quant/index.ts';
import type { QuantTraits } from '../../src/quant/index.ts';

/** mulberry32: small, fast, and fully determined by the 32-bit seed. */
export const makeRng = mulberry32;

/** A fresh seed per run; override with QUANT_TEST_SEED to replay a failure. */
export function freshSeed(): number {
  const env = process.env['QUANT_TEST_SEED'];
  return env !== undefined ? Number(env) : Math.floor(Math.random() * 2 ** 31);
}

export function gaussian(rng: () => number, n: number, sigma = 1): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = sigma * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  return x;
}

/** Normalized mean squared error: sum (x - y)^2 / sum x^2. */
export function nmse(x: Float32Array, y: Float32Array): number {
  let e = 0;
  let p = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    e += (xi - (y[i] as number)) ** 2;
    p += xi * xi;
  }
  return e / p;
}

export function roundTrip(t: QuantTraits, x: Float32Array): { q: Uint8Array; y: Float32Array } {
  const q = new Uint8Array((x.length / t.blockSize) * t.typeSize);
  t.quantizeRow(x, q, x.length);
  const y = new Float32Array(x.length);
  t.dequantizeRow(q, y, x.length);
  return { q, y };
}

export function traitsByName(name: string): QuantTraits {
  for (const t of QUANT_TRAITS.values()) if (t.name === name) return t;
  throw new Error(`no traits named ${name}`);
}

export function dequantBytes(name: string, bytes: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  traitsByName(name).dequantizeRow(bytes, out, n);
  return out;
}

/** Little-endian byte writer for building blocks field by field. */
export class BlockBuilder {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.dv = new DataView(this.bytes.buffer);
  }
  u8(o: number, v: number): this {
    this.bytes[o] = v & 0xff;
    return this;
  }
  u16(o: number, v: number): this {
    this.dv.setUint16(o, v, true);
    return this;
  }
  u32(o: number, v: number): this {
    this.dv.setUint32(o, v >>> 0, true);
    return this;
  }
  f32(o: number, v: number): this {
    this.dv.setFloat32(o, v, true);
    return this;
  }
}

// fp16 bit patterns of exact values used by the hand-built block tests.
export const H = {
  one: 0x3c00,
  half: 0x3800,
  quarter: 0x3400,
  eighth: 0x3000,
  two: 0x4000,
  minusOne: 0xbc00,
  minusHalf: 0xb800,
} as const;

/** FNV-1a over bytes: a compact fingerprint for golden outputs. */
export function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i] as number;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Deterministic input for golden tests: 8 super-blocks of 256 with different character (near-Gaussian, outliers,
 * all positive, all negative, zero sub-blocks, tiny, large, on a grid). Only exact integer/dyadic arithmetic is
 * used, so every platform produces the same floats.
 */
export function goldenInput(): Float32Array {
  let s = 0x2545f491;
  const u = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const g = () => u() + u() + u() + u() - 2; // Irwin-Hall(4), centred
  const x = new Float32Array(8 * 256);
  for (let i = 0; i < x.length; i++) {
    const kind = i >> 8;
    let v: number;
    switch (kind) {
      case 0: v = g(); break;
      case 1: v = i % 37 === 0 ? 40 * g() : g(); break;
      case 2: v = Math.abs(g()) + 0.3; break;
      case 3: v = -Math.abs(g()) - 1; break;
      case 4: v = ((i >> 5) & 1) === 0 ? 0 : g(); break;
      case 5: v = g() / 8192; break;
      case 6: v = g() * 512; break;
      default: v = Math.floor(u() * 64) / 4 - 8; break;
    }
    x[i] = v;
  }
  return x;
}
