// llama (general.architecture "llama"): dense Llama and, with llama.expert_count > 0, Mixtral-style MoE
// (softmax router, top-k weights renormalised, no shared expert). Rope NORMAL (convert_hf_to_gguf permutes q/k).
import type { Metadata } from '../gguf/metadata.ts';
import type { GraphBuilder } from '../graph/graph.ts';
import { attention } from './blocks/attention.ts';
import { ffnSwiglu, moe } from './blocks/ffn.ts';
import { rmsNormW } from './blocks/norm.ts';
import { readCommon, type CommonHParams } from './hparams.ts';
import { lmHead, type Architecture } from './model.ts';
import { mdNumber } from '../gguf/metadata.ts';

export interface LlamaHParams extends CommonHParams {
  readonly nFfExp: number;
}

export const llama: Architecture<LlamaHParams> = {
  name: 'llama',
  hparams(md: Metadata, file: string): LlamaHParams {
    const c = readCommon(md, file, 'normal');
    return { ...c, nFfExp: mdNumber(md, 'llama.expert_feed_forward_length', file, c.nFf) };
  },
  forward(g: GraphBuilder, hp: LlamaHParams, allLogits: boolean): number {
    const pos = g.input('positions');
    let x = g.scope('model.embed_tokens', () => g.getRows(g.weight('token_embd.weight', [hp.nEmbd, hp.nVocab]), g.input('tokens')));
    for (let il = 0; il < hp.nLayer; il++) {
      const p = `blk.${il}`;
      const h = g.scope(`model.layers.${il}.input_layernorm`, () => rmsNormW(g, x, `${p}.attn_norm.weight`, hp.eps, hp.nEmbd));
      const a = attention(g, hp, il, h, pos, { bias: false, qkNorm: false });
      const r = g.addT(a, x);
      const n = g.scope(`model.layers.${il}.post_attention_layernorm`, () => rmsNormW(g, r, `${p}.ffn_norm.weight`, hp.eps, hp.nEmbd));
      const f =
        hp.nExpert > 0
          ? moe(g, il, n, hp.nEmbd, {
              gate: { nExpert: hp.nExpert, nUsed: hp.nExpertUsed, func: 'softmax', norm: true, scale: 1, nGroup: 1, topkGroup: 1, groupScore: 'max' },
              nFfExp: hp.nFfExp,
              selectionBias: false,
              block: 'block_sparse_moe',
            })
          : g.scope(`model.layers.${il}.mlp`, () => ffnSwiglu(g, n, p, '', hp.nEmbd, hp.nFf));
      x = g.addT(f, r);
    }
    return lmHead(g, hp, x, allLogits);
  },
};
