// Feed-forward blocks: the dense SwiGLU MLP and the routed-experts MoE (with optional shared experts).
import { EngineError } from '../../core/errors.ts';
import type { GraphBuilder, MoeGateParams } from '../../graph/graph.ts';

/** SwiGLU MLP over `prefix` ffn_{gate,up,down}{suffix} (HF gate_proj/up_proj/down_proj under the current
 *  module): x [n_embd, nt] → [n_embd, nt]. */
export function ffnSwiglu(g: GraphBuilder, x: number, prefix: string, suffix: string, nEmbd: number, nFf: number): number {
  const gate = g.sub('gate_proj', () => g.mulMat(g.weight(`${prefix}.ffn_gate${suffix}.weight`, [nEmbd, nFf]), x));
  const up = g.sub('up_proj', () => g.mulMat(g.weight(`${prefix}.ffn_up${suffix}.weight`, [nEmbd, nFf]), x));
  const h = g.swiglu(gate, up); // belongs to the MLP itself (HF act_fn(gate) * up)
  return g.sub('down_proj', () => g.mulMat(g.weight(`${prefix}.ffn_down${suffix}.weight`, [nFf, nEmbd]), h));
}

export interface MoeOptions {
  readonly gate: MoeGateParams;
  readonly nFfExp: number;
  /** blk.N.exp_probs_b.bias: added to the scores for selection only (DeepSeek V3). */
  readonly selectionBias: boolean;
  /** HF name of the MoE block: `mlp` (DeepSeek, Qwen) or `block_sparse_moe` (Mixtral). */
  readonly block?: string;
}

/** Router + routed experts (HF: mlp.gate, mlp.experts): x [n_embd, nt] → [n_embd, nt]. */
export function moe(g: GraphBuilder, il: number, x: number, nEmbd: number, o: MoeOptions): number {
  const p = `blk.${il}`;
  const { nExpert, nUsed } = o.gate;
  const blk = `model.layers.${il}.${o.block ?? 'mlp'}`;
  const route = g.scope(`${blk}.gate`, () => {
    const logits = g.mulMat(g.weight(`${p}.ffn_gate_inp.weight`, [nEmbd, nExpert]), x);
    return g.moeGate(logits, o.gate, o.selectionBias ? g.weight(`${p}.exp_probs_b.bias`, [nExpert]) : undefined);
  });
  const experts = (r: number, n: number): number =>
    g.moeExperts(
      x,
      r,
      g.weight(`${p}.ffn_gate_exps.weight`, [nEmbd, o.nFfExp, nExpert]),
      g.weight(`${p}.ffn_up_exps.weight`, [nEmbd, o.nFfExp, nExpert]),
      g.weight(`${p}.ffn_down_exps.weight`, [o.nFfExp, nEmbd, nExpert]),
      n,
    );
  return g.scope(`${blk}.experts`, () => {
    const d = g.deferExperts;
    if (d <= 0) return experts(route, nUsed);
    if (d >= nUsed) throw new EngineError('bad_argument', `defer_experts ${d}: at most n_used − 1 = ${nUsed - 1} of the ${nUsed} routed experts can be deferred`);
    // route = [ids (n_used); weights (n_used)], in selection order: the last d are the lowest-ranked.
    const keep = nUsed - d;
    const now = g.concat0(g.slice0(route, 0, keep), g.slice0(route, nUsed, keep));
    const later = g.concat0(g.slice0(route, keep, d), g.slice0(route, nUsed + keep, d));
    let y = experts(now, keep);
    if (g.pendingDeferred !== undefined) y = g.addT(y, g.pendingDeferred); // the previous layer's deferred experts
    g.pendingDeferred = experts(later, d);
    return y;
  });
}
