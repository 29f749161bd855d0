// deepseek2 (DeepSeek-V2, V2-Lite, V3, R1): MLA attention (blocks/mla.ts), `leading_dense_block_count` dense
// SwiGLU layers, then routed experts plus always-on shared experts. Hyperparameters, YaRN scaling and routing
// follow the llama.cpp this project is tested against (node-llama-cpp's bundled llama.cpp: src/models/deepseek2.cpp,
// llama-context.cpp for the YaRN attention factor, llama-graph.cpp build_moe_ffn for the router).
import { EngineError } from '../core/errors.ts';
import type { Metadata } from '../gguf/metadata.ts';
import { mdBool, mdNumber } from '../gguf/metadata.ts';
import type { GraphBuilder, MoeGateParams } from '../graph/graph.ts';
import { ffnSwiglu, moe } from './blocks/ffn.ts';
import { mla, type MlaParams } from './blocks/mla.ts';
import { rmsNormW } from './blocks/norm.ts';
import { readCommon, type CommonHParams } from './hparams.ts';
import { lmHead, type Architecture } from './model.ts';

export interface Deepseek2HParams extends CommonHParams {
  readonly mla: MlaParams;
  readonly leadingDense: number;
  readonly nFfExp: number;
  readonly nExpertShared: number;
  readonly gate: MoeGateParams;
}

// llama.cpp llama_expert_gating_func_type
const GATING_SOFTMAX = 1;
const GATING_SIGMOID = 2;

function invalid(file: string, key: string, message: string): EngineError {
  return new EngineError('model_invalid', `${key}: ${message}`, { file, key });
}

/**
 * llama.cpp's YaRN magnitude handling for deepseek2. llama_context sets yarn_attn_factor so that, after ggml's rope
 * multiplies cos/sin by 1 + 0.1·ln(1/freq_scale), q_pe/k_pe keep their size when mscale == mscale_all_dim (all
 * DeepSeek configs); the graph undoes that adjustment and puts the YaRN temperature mscale² into kq_scale instead.
 */
function yarnScales(freqScale: number, extFactor: number, logMul: number, ropeAttnFactor: number, headK: number): { ropeAttn: number; kqScale: number } {
  const f32 = Math.fround;
  const getMscale = (s: number, m: number): number => (s <= 1 ? 1 : f32(0.1 * m * Math.log(s) + 1));
  let attn = 1; // hparams.yarn_attn_factor
  if (extFactor !== 0) {
    const factor = f32(1 / freqScale);
    // llama-context.cpp: with a log multiplier, deepseek2 takes mscale = mscale_all_dim unless it is 1.
    if (logMul !== 0) attn = f32(getMscale(factor, logMul !== 1 ? logMul : 1) / getMscale(factor, logMul));
    else attn = getMscale(factor, 1);
    attn = f32(attn * f32(1 / f32(1 + 0.1 * Math.log(factor))));
  }
  attn = f32(attn * ropeAttnFactor);
  // deepseek2.cpp: attn_factor_org = attn_factor·(1 + 0.1·ln(1/freq_scale)); mscale = attn_factor_org·(1 + 0.1·log_mul·ln(1/freq_scale)).
  const org = f32(attn * f32(1 + 0.1 * Math.log(1 / freqScale)));
  const mscale = f32(org * f32(1 + 0.1 * logMul * Math.log(1 / freqScale)));
  return { ropeAttn: attn, kqScale: f32((mscale * mscale) / Math.sqrt(headK)) };
}

function readHParams(md: Metadata, file: string): Deepseek2HParams {
  const c = readCommon(md, file, 'normal');
  const k = (s: string): string => `${c.arch}.${s}`;
  const num = (s: string, fallback?: number): number => (fallback === undefined ? mdNumber(md, k(s), file) : mdNumber(md, k(s), file, fallback));

  // key_length_mla/value_length_mla mark the split attn_k_b/attn_v_b layout; key_length/value_length then describe
  // the compressed cache (kv_lora_rank + qk_rope, kv_lora_rank) rather than a head.
  const kMla = num('attention.key_length_mla', 0);
  const vMla = num('attention.value_length_mla', 0);
  const split = kMla !== 0 && vMla !== 0;
  const headK = split ? kMla : c.headDimK;
  const vHead = split ? vMla : c.headDimV;
  const qkRope = num('rope.dimension_count');
  const qkNope = headK - qkRope;
  if (qkNope < 1) throw invalid(file, k('rope.dimension_count'), `${qkRope} leaves no non-rope key dims in a ${headK}-wide head`);
  const kvLoraRank = num('attention.kv_lora_rank');
  // Required by llama.cpp for deepseek2 (readCommon would fall back to 1e-5).
  const eps = num('attention.layer_norm_rms_epsilon');
  // llama.cpp requires q_lora_rank except for the "lite" layer counts, whose converters write none.
  const qLoraRank = num('attention.q_lora_rank', 0);
  if (num('attention.temperature_scale', 0) !== 0) throw invalid(file, k('attention.temperature_scale'), 'position-dependent query temperature (Mistral-Large) is not supported');

  // The converter stores 0.1·mscale_all_dim; llama.cpp divides the 0.1 back out.
  const logMulKey = md.get(k('rope.scaling.yarn_log_multiplier'));
  const logMul = logMulKey === undefined ? 0 : Math.fround(num('rope.scaling.yarn_log_multiplier') / 0.1);
  const ropeAttnFactor = num('rope.scaling.attn_factor', 1);
  const { ropeAttn, kqScale } = yarnScales(c.rope.freqScale, c.rope.extFactor, logMul, ropeAttnFactor, headK);
  const rope = { ...c.rope, nDims: qkRope, attnFactor: ropeAttn };

  let gating = num('expert_gating_func', 0);
  if (gating === 0) {
    // llama.cpp's fallback for GGUFs without the key: V2/V2.5 use softmax; GLM-4.7-Lite (same arch) sigmoid.
    gating = (c.nLayer === 47 || c.nLayer === 48) && c.nVocab === 154880 ? GATING_SIGMOID : GATING_SOFTMAX;
  }
  if (gating !== GATING_SOFTMAX && gating !== GATING_SIGMOID) throw invalid(file, k('expert_gating_func'), `gating function ${gating} is not supported (1 softmax, 2 sigmoid)`);
  const nGroup = num('expert_group_count', 0);
  const topkGroup = num('expert_group_used_count', 0);
  if (nGroup > 1 && (c.nExpert % nGroup !== 0 || topkGroup < 1 || topkGroup >= nGroup)) {
    throw invalid(file, k('expert_group_used_count'), `${topkGroup} of ${nGroup} groups over ${c.nExpert} experts is not a valid grouping`);
  }
  const scale = num('expert_weights_scale', 0);
  const leadingDense = num('leading_dense_block_count', 0);
  if (leadingDense < c.nLayer && (c.nExpert < 1 || c.nExpertUsed < 1 || c.nExpertUsed > c.nExpert)) {
    throw invalid(file, k('expert_used_count'), `MoE layers need 1 <= expert_used_count <= expert_count, got ${c.nExpertUsed} of ${c.nExpert}`);
  }

  return {
    ...c,
    // What the attn op sees: per-head K/V (MHA) for attn_kv_b, one shared [latent | k_pe] head (MQA) when split.
    nHeadKv: split ? 1 : c.nHead,
    headDimK: split ? kvLoraRank + qkRope : headK,
    headDimV: split ? kvLoraRank : vHead,
    eps,
    rope,
    mla: { nEmbd: c.nEmbd, nHead: c.nHead, qLoraRank, kvLoraRank, qkNope, qkRope, vHead, split, eps, rope, kqScale },
    leadingDense,
    nFfExp: num('expert_feed_forward_length'),
    nExpertShared: num('expert_shared_count'),
    gate: {
      nExpert: c.nExpert,
      nUsed: c.nExpertUsed,
      func: gating === GATING_SIGMOID ? 'sigmoid' : 'softmax',
      norm: mdBool(md, k('expert_weights_norm'), file, false),
      // build_moe_ffn scales whenever w_scale is neither 0 (unset) nor 1, normalised or not.
      scale: scale === 0 ? 1 : scale,
      // llama.cpp's grouped selection scores every group by the sum of its top-2 (biased) scores, V2 softmax
      // routers included, where HF's group_limited_greedy takes the max; we follow llama.cpp.
      nGroup: nGroup > 1 ? nGroup : 1,
      topkGroup: nGroup > 1 ? topkGroup : 1,
      groupScore: 'top2_sum',
    },
  };
}

export const deepseek2: Architecture<Deepseek2HParams> = {
  name: 'deepseek2',
  hparams: readHParams,
  forward(g: GraphBuilder, hp: Deepseek2HParams, allLogits: boolean): number {
    const pos = g.input('positions');
    let x = g.scope('model.embed_tokens', () => g.getRows(g.weight('token_embd.weight', [hp.nEmbd, hp.nVocab]), g.input('tokens')));
    for (let il = 0; il < hp.nLayer; il++) {
      const p = `blk.${il}`;
      const h = g.scope(`model.layers.${il}.input_layernorm`, () => rmsNormW(g, x, `${p}.attn_norm.weight`, hp.eps, hp.nEmbd));
      const r = g.addT(mla(g, hp.mla, il, h, pos), x);
      const n = g.scope(`model.layers.${il}.post_attention_layernorm`, () => rmsNormW(g, r, `${p}.ffn_norm.weight`, hp.eps, hp.nEmbd));
      let f: number;
      if (il < hp.leadingDense) {
        f = g.scope(`model.layers.${il}.mlp`, () => ffnSwiglu(g, n, p, '', hp.nEmbd, hp.nFf));
      } else {
        // exp_probs_b (V3's e_score_correction_bias) is optional in llama.cpp and used whenever present.
        f = moe(g, il, n, hp.nEmbd, { gate: hp.gate, nFfExp: hp.nFfExp, selectionBias: g.hasWeight(`${p}.exp_probs_b.bias`) });
        if (hp.nExpertShared > 0) {
          const s = g.scope(`model.layers.${il}.mlp.shared_experts`, () => ffnSwiglu(g, n, p, '_shexp', hp.nEmbd, hp.nFfExp * hp.nExpertShared));
          f = g.addT(f, s);
        }
      }
      x = g.addT(f, r);
    }
    return lmHead(g, hp, x, allLogits);
  },
};
