// MoE routing and experts, the reference for GPU/WASM expert kernels. Follows llama.cpp's build_moe_ffn:
// probabilities (softmax or sigmoid), optional selection bias (exp_probs_b, selection only), grouped top-k,
// weights from the unbiased probabilities, optional normalisation, then the routed scaling factor.
import type { MoeGateParams } from '../../graph/graph.ts';

/** logits [nExpert, nt] (+ bias [nExpert]) → out [2*nUsed, nt]: expert ids then weights per token. */
export function moeGate(logits: Float32Array, nt: number, p: MoeGateParams, bias: Float32Array | undefined, out: Float32Array): void {
  const ne = p.nExpert;
  const probs = new Float64Array(ne);
  const sel = new Float64Array(ne);
  for (let t = 0; t < nt; t++) {
    const l = logits.subarray(t * ne, (t + 1) * ne);
    if (p.func === 'softmax') {
      let max = -Infinity;
      for (let e = 0; e < ne; e++) max = Math.max(max, l[e]!);
      let sum = 0;
      for (let e = 0; e < ne; e++) sum += probs[e] = Math.exp(l[e]! - max);
      for (let e = 0; e < ne; e++) probs[e]! /= sum;
    } else {
      for (let e = 0; e < ne; e++) probs[e] = 1 / (1 + Math.exp(-l[e]!));
    }
    for (let e = 0; e < ne; e++) sel[e] = probs[e]! + (bias?.[e] ?? 0);
    if (p.nGroup > 1) maskGroups(sel, p);
    const ids = topK(sel, p.nUsed);
    let sum = 0;
    for (const e of ids) sum += probs[e]!;
    const o = out.subarray(t * 2 * p.nUsed, (t + 1) * 2 * p.nUsed);
    ids.forEach((e, i) => {
      let w = probs[e]!;
      if (p.norm) w /= sum;
      o[i] = e;
      o[p.nUsed + i] = w * p.scale;
    });
  }
}

function maskGroups(sel: Float64Array, p: MoeGateParams): void {
  const per = sel.length / p.nGroup;
  const scores: number[] = [];
  for (let g = 0; g < p.nGroup; g++) {
    const grp = Array.from(sel.subarray(g * per, (g + 1) * per)).sort((a, b) => b - a);
    scores.push(p.groupScore === 'max' ? grp[0]! : grp[0]! + (grp[1] ?? 0));
  }
  const keep = new Set(topK(Float64Array.from(scores), p.topkGroup));
  for (let g = 0; g < p.nGroup; g++) if (!keep.has(g)) sel.fill(-Infinity, g * per, (g + 1) * per);
}

/** Indices of the k largest values, largest first; ties go to the lower index (stable). */
export function topK(v: Float64Array, k: number): number[] {
  const idx = Array.from(v.keys());
  idx.sort((a, b) => v[b]! - v[a]! || a - b);
  return idx.slice(0, k);
}
