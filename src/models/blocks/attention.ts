// Multi-head attention with grouped KV heads (llama, mixtral, qwen2moe, qwen3moe): optional q/k/v biases
// (qwen2) and per-head q/k RMSNorm before rope (qwen3).
import type { GraphBuilder } from '../../graph/graph.ts';
import type { CommonHParams } from '../hparams.ts';
import { rmsNormW } from './norm.ts';

export interface AttentionOptions {
  readonly bias: boolean;
  readonly qkNorm: boolean;
}

function proj(g: GraphBuilder, x: number, name: string, rows: number, nEmbd: number, bias: boolean): number {
  const y = g.mulMat(g.weight(`${name}.weight`, [nEmbd, rows]), x);
  return bias ? g.addT(y, g.weight(`${name}.bias`, [rows])) : y;
}

/** x [n_embd, nt] (normed) → [n_embd, nt]. */
export function attention(g: GraphBuilder, hp: CommonHParams, il: number, x: number, pos: number, o: AttentionOptions): number {
  const p = `blk.${il}`;
  const nt = g.nTokens;
  const { nHead, nHeadKv, headDimK: dk, headDimV: dv, nEmbd } = hp;
  let q = g.scope(`model.layers.${il}.self_attn.q_proj`, () => g.reshape(proj(g, x, `${p}.attn_q`, nHead * dk, nEmbd, o.bias), [dk, nHead, nt]));
  let k = g.scope(`model.layers.${il}.self_attn.k_proj`, () => g.reshape(proj(g, x, `${p}.attn_k`, nHeadKv * dk, nEmbd, o.bias), [dk, nHeadKv, nt]));
  const v = g.scope(`model.layers.${il}.self_attn.v_proj`, () => g.reshape(proj(g, x, `${p}.attn_v`, nHeadKv * dv, nEmbd, o.bias), [dv, nHeadKv, nt]));
  return g.scope(`model.layers.${il}.self_attn`, () => {
    if (o.qkNorm) {
      q = g.sub('q_norm', () => rmsNormW(g, q, `${p}.attn_q_norm.weight`, hp.eps, dk));
      k = g.sub('k_norm', () => rmsNormW(g, k, `${p}.attn_k_norm.weight`, hp.eps, dk));
    }
    q = g.rope(q, pos, hp.rope);
    k = g.rope(k, pos, hp.rope);
    const a = g.attn(q, k, v, pos, il, 1 / Math.sqrt(dk));
    return g.scope(`model.layers.${il}.self_attn.o_proj`, () => g.mulMat(g.weight(`${p}.attn_output.weight`, [nHead * dv, nEmbd]), g.reshape(a, [nHead * dv, nt])));
  });
}
