// Multi-head latent attention (DeepSeek-V2/V3) as llama.cpp's deepseek2 graph computes it. Keys and values come
// from a per-token latent (kv_lora_rank wide, RMS-normed) plus one roped key part shared by all heads. Two GGUF
// layouts: attn_kv_b (older files) decompresses the latent into per-head K/V and runs plain MHA; attn_k_b/attn_v_b
// (current convert_hf_to_gguf) absorbs k_b into the query and v_b into the output, so attention is MQA over the
// compressed [latent | k_pe] cache — the 576-wide cache of DeepSeek, which the attn op then holds.
import type { GraphBuilder, RopeParams } from '../../graph/graph.ts';
import { rmsNormW } from './norm.ts';

export interface MlaParams {
  readonly nEmbd: number;
  readonly nHead: number;
  /** 0: attn_q straight from the input (V2-Lite); else attn_q_a → norm → attn_q_b. */
  readonly qLoraRank: number;
  readonly kvLoraRank: number;
  readonly qkNope: number;
  readonly qkRope: number;
  readonly vHead: number;
  /** attn_k_b + attn_v_b (absorbed MQA) rather than attn_kv_b (decompressed MHA). */
  readonly split: boolean;
  readonly eps: number;
  readonly rope: RopeParams;
  readonly kqScale: number;
}

/** x [n_embd, nt] (normed) → [n_embd, nt]. */
export function mla(g: GraphBuilder, p: MlaParams, il: number, x: number, pos: number): number {
  const b = `blk.${il}`;
  const m = `model.layers.${il}.self_attn`;
  const nt = g.nTokens;
  const { nEmbd, nHead, qLoraRank, kvLoraRank: kvl, qkNope, qkRope, vHead } = p;
  const dk = qkNope + qkRope;

  const q =
    qLoraRank > 0
      ? g.scope(`${m}.q_b_proj`, () => {
          const qa = g.scope(`${m}.q_a_proj`, () => g.mulMat(g.weight(`${b}.attn_q_a.weight`, [nEmbd, qLoraRank]), x));
          const qn = g.scope(`${m}.q_a_layernorm`, () => rmsNormW(g, qa, `${b}.attn_q_a_norm.weight`, p.eps, qLoraRank));
          return g.mulMat(g.weight(`${b}.attn_q_b.weight`, [qLoraRank, nHead * dk]), qn);
        })
      : g.scope(`${m}.q_proj`, () => g.mulMat(g.weight(`${b}.attn_q.weight`, [nEmbd, nHead * dk]), x));
  const kvPe = g.scope(`${m}.kv_a_proj_with_mqa`, () => g.mulMat(g.weight(`${b}.attn_kv_a_mqa.weight`, [nEmbd, kvl + qkRope]), x)); // [kvl + rope, nt]
  const kvC = g.scope(`${m}.kv_a_layernorm`, () => rmsNormW(g, g.slice0(kvPe, 0, kvl), `${b}.attn_kv_a_norm.weight`, p.eps, kvl)); // [kvl, nt]

  const a = g.scope(m, () => {
    const q3 = g.reshape(q, [dk, nHead, nt]);
    const qNope = g.slice0(q3, 0, qkNope); // [qk_nope, n_head, nt]
    // llama.cpp ropes only the trailing qk_rope dims of q (ggml_rope_set_offset) and k_pe, rope mode NORMAL.
    const qPe = g.rope(g.slice0(q3, qkNope, qkRope), pos, p.rope); // [qk_rope, n_head, nt]
    const kPe = g.rope(g.reshape(g.slice0(kvPe, kvl, qkRope), [qkRope, 1, nt]), pos, p.rope); // [qk_rope, 1, nt]
    if (!p.split) {
      const kv = g.scope(`${m}.kv_b_proj`, () =>
        g.reshape(g.mulMat(g.weight(`${b}.attn_kv_b.weight`, [kvl, nHead * (qkNope + vHead)]), kvC), [qkNope + vHead, nHead, nt]),
      );
      const k = g.concat0(g.slice0(kv, 0, qkNope), g.repeat1(kPe, nHead)); // [dk, n_head, nt]
      const v = g.slice0(kv, qkNope, vHead); // [v_head, n_head, nt]
      return g.reshape(g.attn(g.concat0(qNope, qPe), k, v, pos, il, p.kqScale), [nHead * vHead, nt]);
    }
    // Absorbed: q_nope·(W_kb,h · c) = (W_kb,h^T q_nope)·c, and the output is W_vb,h applied to the attended latent.
    const wkb = g.scope(`${m}.kv_b_proj`, () => g.weight(`${b}.attn_k_b.weight`, [qkNope, kvl, nHead]));
    const wvb = g.scope(`${m}.kv_b_proj`, () => g.weight(`${b}.attn_v_b.weight`, [kvl, vHead, nHead]));
    const qAbs = g.scope(`${m}.kv_b_proj`, () => g.mulMatHeads(wkb, qNope)); // [kvl, n_head, nt]
    const c = g.reshape(kvC, [kvl, 1, nt]);
    const lat = g.attn(g.concat0(qAbs, qPe), g.concat0(c, kPe), c, pos, il, p.kqScale); // [kvl, n_head, nt]
    return g.reshape(g.scope(`${m}.kv_b_proj`, () => g.mulMatHeads(wvb, lat)), [nHead * vHead, nt]);
  });
  return g.scope(`${m}.o_proj`, () => g.mulMat(g.weight(`${b}.attn_output.weight`, [nHead * vHead, nEmbd]), a));
}
