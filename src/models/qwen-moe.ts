// qwen2moe and qwen3moe: GQA attention with rope NEOX, routed experts with a softmax router.
// qwen2moe: q/k/v biases, weights not renormalised (norm_topk_prob false), plus one shared expert scaled by
// sigmoid(ffn_gate_inp_shexp · x). qwen3moe: per-head q/k RMSNorm before rope, weights renormalised, no shared expert.
import type { Metadata } from '../gguf/metadata.ts';
import { mdNumber } from '../gguf/metadata.ts';
import type { GraphBuilder } from '../graph/graph.ts';
import { attention } from './blocks/attention.ts';
import { ffnSwiglu, moe } from './blocks/ffn.ts';
import { rmsNormW } from './blocks/norm.ts';
import { readCommon, type CommonHParams } from './hparams.ts';
import { lmHead, type Architecture } from './model.ts';

export interface QwenMoeHParams extends CommonHParams {
  readonly nFfExp: number;
  readonly nFfShexp: number;
}

function sharedExpert(g: GraphBuilder, il: number, x: number, hp: QwenMoeHParams): number {
  const p = `blk.${il}`;
  const y = g.scope(`model.layers.${il}.mlp.shared_expert`, () => ffnSwiglu(g, x, p, '_shexp', hp.nEmbd, hp.nFfShexp));
  return g.scope(`model.layers.${il}.mlp.shared_expert_gate`, () => {
    // ffn_gate_inp_shexp is [n_embd] in llama.cpp's GGUFs: one logit per token.
    const w = g.weight(`${p}.ffn_gate_inp_shexp.weight`);
    const gate = g.sigmoid(g.mulMat(g.reshape(w, [hp.nEmbd, 1]), x)); // [1, nt]
    return g.mul(y, g.reshape(gate, [1, g.nTokens]));
  });
}

function qwenMoe(name: 'qwen2moe' | 'qwen3moe'): Architecture<QwenMoeHParams> {
  const v3 = name === 'qwen3moe';
  return {
    name,
    hparams(md: Metadata, file: string): QwenMoeHParams {
      const c = readCommon(md, file, 'neox');
      return {
        ...c,
        nFfExp: mdNumber(md, `${name}.expert_feed_forward_length`, file),
        nFfShexp: v3 ? 0 : mdNumber(md, `${name}.expert_shared_feed_forward_length`, file),
      };
    },
    forward(g: GraphBuilder, hp: QwenMoeHParams, allLogits: boolean): number {
      const pos = g.input('positions');
      let x = g.scope('model.embed_tokens', () => g.getRows(g.weight('token_embd.weight', [hp.nEmbd, hp.nVocab]), g.input('tokens')));
      for (let il = 0; il < hp.nLayer; il++) {
        const p = `blk.${il}`;
        const h = g.scope(`model.layers.${il}.input_layernorm`, () => rmsNormW(g, x, `${p}.attn_norm.weight`, hp.eps, hp.nEmbd));
        const a = attention(g, hp, il, h, pos, { bias: !v3 && g.hasWeight(`${p}.attn_q.bias`), qkNorm: v3 });
        const r = g.addT(a, x);
        const n = g.scope(`model.layers.${il}.post_attention_layernorm`, () => rmsNormW(g, r, `${p}.ffn_norm.weight`, hp.eps, hp.nEmbd));
        let f = moe(g, il, n, hp.nEmbd, {
          gate: { nExpert: hp.nExpert, nUsed: hp.nExpertUsed, func: 'softmax', norm: v3, scale: 1, nGroup: 1, topkGroup: 1, groupScore: 'max' },
          nFfExp: hp.nFfExp,
          selectionBias: false,
        });
        if (!v3) f = g.addT(f, sharedExpert(g, il, n, hp));
        x = g.addT(f, r);
      }
      return lmHead(g, hp, x, allLogits);
    },
  };
}

export const qwen2moe = qwenMoe('qwen2moe');
export const qwen3moe = qwenMoe('qwen3moe');
