import { describe, expect, it } from 'vitest';
import { topKOnHost } from '../../src/runtime/hybrid-executor.ts';
import { Sampler, DEFAULT_SAMPLER } from '../../src/runtime/sampler.ts';

function logitsFrom(probs: number[]): Float32Array {
  return Float32Array.from(probs, (p) => Math.log(p));
}

describe('Sampler', () => {
  it('greedy picks the argmax', () => {
    const s = new Sampler({ ...DEFAULT_SAMPLER, temperature: 0 });
    const l = new Float32Array(100).map(() => Math.random());
    const best = l.indexOf(Math.max(...l));
    expect(s.sample(l)).toBe(best);
  });

  it('samples by probability: empirical frequencies match the distribution', () => {
    const probs = [0.5, 0.3, 0.15, 0.05];
    const s = new Sampler({ ...DEFAULT_SAMPLER, temperature: 1, topK: 0, topP: 1, minP: 0, seed: (Math.random() * 2 ** 31) | 0 });
    const counts = [0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[s.sample(logitsFrom(probs))]!++;
    counts.forEach((c, i) => expect(Math.abs(c / n - probs[i]!)).toBeLessThan(0.015));
  });

  it('top-k, top-p and min-p cut the tail', () => {
    const probs = [0.5, 0.3, 0.15, 0.05];
    const seen = (o: Partial<typeof DEFAULT_SAMPLER>): Set<number> => {
      const s = new Sampler({ ...DEFAULT_SAMPLER, temperature: 1, topK: 0, topP: 1, minP: 0, ...o });
      const out = new Set<number>();
      for (let i = 0; i < 3000; i++) out.add(s.sample(logitsFrom(probs)));
      return out;
    };
    expect(seen({ topK: 2 })).toEqual(new Set([0, 1]));
    expect(seen({ topP: 0.75 })).toEqual(new Set([0, 1]));
    expect(seen({ minP: 0.2 })).toEqual(new Set([0, 1, 2]));
  });

  it('the same seed gives the same sequence; another seed differs', () => {
    const l = new Float32Array(50).map(() => Math.random() * 3);
    const run = (seed: number): number[] => {
      const s = new Sampler({ ...DEFAULT_SAMPLER, temperature: 1.5, topK: 0, topP: 1, minP: 0, seed });
      return Array.from({ length: 64 }, () => s.sample(l));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('repetition penalty demotes recent tokens', () => {
    const s = new Sampler({ ...DEFAULT_SAMPLER, temperature: 0, repeatPenalty: 2 });
    const l = Float32Array.from([2.0, 1.5, -1]);
    expect(s.sample(l)).toBe(0);
    s.accept(0);
    expect(s.sample(l)).toBe(1); // 2.0 / 2 = 1.0 < 1.5
  });

  it('rejects settings out of range', () => {
    expect(() => new Sampler({ ...DEFAULT_SAMPLER, topP: 0 })).toThrow(/top-p/);
  });

  it('sampling from device top-k candidates draws what sampling the full logits draws (same seed, penalty, ties)', () => {
    for (const o of [
      { temperature: 0, topK: 40, repeatPenalty: 1 },
      { temperature: 0, topK: 40, repeatPenalty: 1.3 },
      { temperature: 0.8, topK: 40, topP: 0.9, repeatPenalty: 1.1 },
      { temperature: 1.5, topK: 7, topP: 1, minP: 0, repeatPenalty: 1 },
    ]) {
      const seed = (Math.random() * 2 ** 31) | 0;
      const full = new Sampler({ ...DEFAULT_SAMPLER, ...o, seed });
      const cand = new Sampler({ ...DEFAULT_SAMPLER, ...o, seed });
      for (let step = 0; step < 200; step++) {
        // coarse values: many exact ties, so the tie order matters
        const l = Float32Array.from({ length: 300 }, () => Math.round(Math.random() * 40) / 8 - 2);
        const k = cand.candidates;
        const { ids, logits } = topKOnHost(l, cand.o.repeatPenalty !== 1 ? { k, penaltyIds: cand.penalized, penalty: cand.o.repeatPenalty } : { k });
        const a = full.sample(l);
        expect(cand.sampleCandidates(ids, logits), JSON.stringify(o)).toBe(a);
        full.accept(a);
        cand.accept(a);
      }
    }
  });
});
