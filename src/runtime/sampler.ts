// Token sampling on CPU logits: repetition penalty (llama.cpp semantics: divide positive, multiply negative
// logits of recent tokens), then greedy or temperature → top-k → top-p → min-p, from a seeded PRNG so the same
// seed gives the same text.
import { EngineError } from '../core/errors.ts';

export interface SamplerOptions {
  /** 0 = greedy. */
  readonly temperature: number;
  readonly topK: number; // 0 = off
  readonly topP: number; // 1 = off
  readonly minP: number; // 0 = off
  readonly repeatPenalty: number; // 1 = off
  readonly repeatLastN: number;
  readonly seed: number;
}

export const DEFAULT_SAMPLER: SamplerOptions = { temperature: 0, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, repeatLastN: 64, seed: 0 };

export class Sampler {
  private state: number;
  private readonly recent: number[] = [];

  constructor(readonly o: SamplerOptions) {
    if (!(o.temperature >= 0) || !(o.topP > 0 && o.topP <= 1) || !(o.minP >= 0 && o.minP < 1) || !(o.repeatPenalty > 0) || o.topK < 0) {
      throw new EngineError('bad_argument', `sampler settings out of range: temperature ≥ 0, 0 < top-p ≤ 1, 0 ≤ min-p < 1, repeat-penalty > 0, top-k ≥ 0 (got ${JSON.stringify(o)})`);
    }
    this.state = (o.seed >>> 0) ^ 0x9e3779b9 || 1;
  }

  /** Uniform in [0, 1) from xorshift32. */
  private random(): number {
    let s = this.state;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.state = s >>> 0;
    return this.state / 2 ** 32;
  }

  /** Records a token (prompt or generated) for the repetition penalty. */
  accept(token: number): void {
    this.recent.push(token);
    if (this.recent.length > this.o.repeatLastN) this.recent.shift();
  }

  /** How many candidates sample() can need at most (0: the whole vocabulary); for device-side top-k. */
  get candidates(): number {
    return this.o.temperature === 0 ? 1 : this.o.topK;
  }

  /** Token ids whose repetition penalty applies now. */
  get penalized(): Int32Array {
    return Int32Array.from(new Set(this.recent));
  }

  sample(logits: Float32Array): number {
    const l = withRepeatPenalty(logits, this.recent, this.o.repeatPenalty);
    if (this.o.temperature === 0) return argmax(l);
    // Candidates sorted by logit, cut by top-k first (cheap), then softmax at temperature.
    let idx = Array.from(l.keys()).sort((a, b) => l[b]! - l[a]! || a - b);
    if (this.o.topK > 0) idx = idx.slice(0, this.o.topK);
    return this.pick(idx, (i) => l[i]!);
  }

  /**
   * sample() over candidates a device already penalized and sorted (descending, ties by lower id): the same
   * draw as sample() on the full logits when there are `candidates` of them.
   */
  sampleCandidates(ids: Int32Array, logits: Float32Array): number {
    if (this.o.temperature === 0) return ids[0]!;
    const pos = new Map(Array.from(ids, (id, i) => [id, i] as const));
    return this.pick(Array.from(ids), (id) => logits[pos.get(id)!]!);
  }

  private pick(idx: number[], logit: (id: number) => number): number {
    const max = logit(idx[0]!);
    let p = idx.map((i) => Math.exp((logit(i) - max) / this.o.temperature));
    let sum = p.reduce((a, b) => a + b, 0);
    p = p.map((v) => v / sum);
    let keep = p.length;
    if (this.o.topP < 1) {
      let c = 0;
      for (let i = 0; i < p.length; i++) {
        c += p[i]!;
        if (c >= this.o.topP) {
          keep = i + 1;
          break;
        }
      }
    }
    if (this.o.minP > 0) {
      const floor = p[0]! * this.o.minP;
      let n = 1;
      while (n < keep && p[n]! >= floor) n++;
      keep = n;
    }
    sum = 0;
    for (let i = 0; i < keep; i++) sum += p[i]!;
    let r = this.random() * sum;
    for (let i = 0; i < keep; i++) {
      r -= p[i]!;
      if (r < 0) return idx[i]!;
    }
    return idx[keep - 1]!;
  }
}

/**
 * llama.cpp's repetition penalty: positive logits of `ids` divided by `penalty`, negative ones multiplied; each id
 * once. Returns `logits` itself when there is nothing to do, else a penalized copy.
 */
export function withRepeatPenalty(logits: Float32Array, ids: Iterable<number> | undefined, penalty: number | undefined): Float32Array {
  if (ids === undefined || penalty === undefined || penalty === 1) return logits;
  const l = logits.slice();
  for (const t of new Set(ids)) l[t] = l[t]! > 0 ? l[t]! / penalty : l[t]! * penalty;
  return l;
}

export function argmax(l: Float32Array): number {
  let b = 0;
  for (let i = 1; i < l.length; i++) if (l[i]! > l[b]!) b = i;
  return b;
}
