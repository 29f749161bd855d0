// mulberry32: a small, fast PRNG fully determined by its 32-bit seed (benchmark prompts, expert routes in kernel
// timings, test data). Not for sampling text: runtime/sampler.ts keeps its own seeded stream.
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
