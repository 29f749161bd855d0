// llama.cpp (through node-llama-cpp) as the oracle: greedy tokens and per-position next-token probabilities
// for the same GGUF, and the comparison of our logits against those probabilities.
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from 'node-llama-cpp';

let llamaP: Promise<Llama> | undefined;
export function llamaCpp(): Promise<Llama> {
  llamaP ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  return llamaP;
}

export async function loadLlamaModel(path: string): Promise<LlamaModel> {
  return (await llamaCpp()).loadModel({ modelPath: path });
}

/** llama.cpp's next-token distribution after each prefix of `tokens` (full vocabulary, temperature 1). */
// llama.cpp keeps its KV cache in F16 by default; F32 makes the oracle as exact as the weights allow.
const EXACT = { threads: 1, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32', flashAttention: false } as const;

export async function llamaDistributions(model: LlamaModel, tokens: readonly number[]): Promise<Map<number, number>[]> {
  const ctx = await model.createContext({ contextSize: Math.max(64, tokens.length + 8), ...EXACT });
  try {
    const seq = ctx.getSequence();
    const out = await seq.controlledEvaluate(
      tokens.map((t) => [t as Token, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]),
    );
    return out.map((o, i) => {
      const p = o?.next.probabilities;
      if (p === undefined) throw new Error(`llama.cpp gave no probabilities at position ${i}`);
      return p;
    });
  } finally {
    await ctx.dispose();
  }
}

export async function llamaGreedy(model: LlamaModel, prompt: readonly number[], n: number): Promise<number[]> {
  const ctx = await model.createContext({ contextSize: Math.max(64, prompt.length + n + 8), ...EXACT });
  try {
    const seq = ctx.getSequence();
    const out: number[] = [];
    for await (const t of seq.evaluate(prompt as Token[], { temperature: 0 })) {
      out.push(t);
      if (out.length >= n) break;
    }
    return out;
  } finally {
    await ctx.dispose();
  }
}

export interface DistributionDiff {
  /** Largest KL(llama.cpp ‖ ours) over positions, in nats. */
  readonly maxKL: number;
  /** Largest |log p_ours − log p_llama| over llama.cpp's top-5 tokens at every position. */
  readonly maxTopLogpDiff: number;
  /** Positions where the argmax differs although llama.cpp's top-2 margin exceeded `margin`. */
  readonly greedyMismatches: number[];
  readonly positions: number;
  /** Per position: max top-5 |dlogp| and KL. */
  readonly perPosition: readonly { readonly topLogpDiff: number; readonly kl: number }[];
}

export function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(logits, (v) => v - lse);
}

/** ours: logits [nVocab * positions]; theirs: one probability map per position. */
export function compareDistributions(ours: Float32Array, nVocab: number, theirs: readonly Map<number, number>[], margin: number): DistributionDiff {
  let maxKL = 0;
  let maxTop = 0;
  const mismatches: number[] = [];
  const perPosition: { topLogpDiff: number; kl: number }[] = [];
  theirs.forEach((p, pos) => {
    const lp = logSoftmax(ours.subarray(pos * nVocab, (pos + 1) * nVocab));
    let kl = 0;
    for (const [tok, q] of p) if (q > 0) kl += q * (Math.log(q) - lp[tok]!);
    maxKL = Math.max(maxKL, kl);
    const top = [...p.entries()].slice(0, 5);
    let posTop = 0;
    for (const [tok, q] of top) if (q > 1e-6) posTop = Math.max(posTop, Math.abs(Math.log(q) - lp[tok]!));
    maxTop = Math.max(maxTop, posTop);
    perPosition.push({ topLogpDiff: posTop, kl });
    let best = 0;
    for (let i = 1; i < nVocab; i++) if (lp[i]! > lp[best]!) best = i;
    const [t0, t1] = top;
    if (t0 !== undefined && best !== t0[0] && t0[1] - (t1?.[1] ?? 0) > margin) mismatches.push(pos);
  });
  return { maxKL, maxTopLogpDiff: maxTop, greedyMismatches: mismatches, positions: theirs.length, perPosition };
}
