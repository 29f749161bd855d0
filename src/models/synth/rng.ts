// Seeded PRNG for synthetic weights: xoshiro128** (fast, 32-bit state words fit V8's small-integer arithmetic)
// seeded through splitmix32, and Box-Muller normals. Every tensor and every row pool gets its own stream derived
// from (seed, label), so a tensor's bytes do not depend on which tensors were generated before it.

/** FNV-1a over the UTF-16 code units of `s`; only used to turn labels into seed material. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

const TWO_PI = 2 * Math.PI;
const U24 = 1 / 16777216;

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = 0;
  private hasSpare = false;

  /** `seed` is any non-negative safe integer; `label` names the stream (a tensor name, a pool key). */
  constructor(seed: number, label = '') {
    const lo = seed % 0x100000000;
    const hi = Math.floor(seed / 0x100000000);
    const st = { s: (lo ^ Math.imul(fnv1a(label), 0x9e3779b1)) | 0 };
    const mixHi = fnv1a(`${hi}:${label}`);
    this.a = splitmix32(st) ^ mixHi;
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    // xoshiro must not start from the all-zero state.
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next uniform 32-bit unsigned integer. */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** Uniform in (0, 1): never 0, so it is safe under Math.log. */
  uniform(): number {
    return ((this.u32() >>> 8) + 0.5) * U24;
  }

  /** Uniform integer in [0, n) for n <= 2^32 (modulo bias is irrelevant for picking pool rows). */
  below(n: number): number {
    return this.u32() % n;
  }

  /** Standard normal (Box-Muller, both outputs used). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const th = TWO_PI * this.uniform();
    this.spare = r * Math.sin(th);
    this.hasSpare = true;
    return r * Math.cos(th);
  }

  /** Fills `out` with mean + std * N(0, 1). */
  fillNormal(out: Float32Array, mean: number, std: number): void {
    const n = out.length;
    let i = 0;
    if (this.hasSpare && n > 0) {
      out[i++] = mean + std * this.normal();
    }
    for (; i + 1 < n; i += 2) {
      const r = std * Math.sqrt(-2 * Math.log(this.uniform()));
      const th = TWO_PI * this.uniform();
      out[i] = mean + r * Math.cos(th);
      out[i + 1] = mean + r * Math.sin(th);
    }
    if (i < n) out[i] = mean + std * this.normal();
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
