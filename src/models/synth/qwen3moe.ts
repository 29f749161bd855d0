// llama.cpp arch "qwen3moe" (Qwen3-30B-A3B family): per-head RMS norms on q and k, an explicit head_dim that need
// not be n_embd / n_head, routed experts with normalised top-k weights, no shared expert.
import type { QwenMoeHParams } from './presets.ts';
import { ROUTER_GAIN, matrix, meta, norm, type MetaEntry, type TensorPlan } from './spec.ts';

export function qwen3moeMetadata(hp: QwenMoeHParams): MetaEntry[] {
  const a = 'qwen3moe';
  return [
    meta.u32(`${a}.context_length`, hp.nCtx),
    meta.u32(`${a}.embedding_length`, hp.nEmbd),
    meta.u32(`${a}.block_count`, hp.nLayer),
    meta.u32(`${a}.feed_forward_length`, hp.nFf),
    meta.u32(`${a}.attention.head_count`, hp.nHead),
    meta.u32(`${a}.attention.head_count_kv`, hp.nHeadKv),
    meta.f32(`${a}.rope.freq_base`, hp.ropeBase),
    meta.f32(`${a}.attention.layer_norm_rms_epsilon`, hp.rmsEps),
    meta.u32(`${a}.expert_count`, hp.nExpert),
    meta.u32(`${a}.expert_used_count`, hp.nExpertUsed),
    meta.u32(`${a}.attention.key_length`, hp.headDim),
    meta.u32(`${a}.attention.value_length`, hp.headDim),
    meta.u32(`${a}.expert_feed_forward_length`, hp.nFfExp),
  ];
}

export function qwen3moeTensors(hp: QwenMoeHParams): TensorPlan[] {
  const { nEmbd, nHead, nHeadKv, headDim, nFfExp, nExpert } = hp;
  const t: TensorPlan[] = [];
  for (let i = 0; i < hp.nLayer; i++) {
    const b = `blk.${i}`;
    t.push(
      norm(`${b}.attn_norm.weight`, nEmbd),
      matrix(`${b}.attn_q.weight`, [nEmbd, nHead * headDim]), // [n_embd, n_head*head_dim]
      matrix(`${b}.attn_k.weight`, [nEmbd, nHeadKv * headDim]),
      matrix(`${b}.attn_v.weight`, [nEmbd, nHeadKv * headDim]),
      matrix(`${b}.attn_output.weight`, [nHead * headDim, nEmbd]),
      norm(`${b}.attn_q_norm.weight`, headDim), // [head_dim]
      norm(`${b}.attn_k_norm.weight`, headDim),
      norm(`${b}.ffn_norm.weight`, nEmbd),
      matrix(`${b}.ffn_gate_inp.weight`, [nEmbd, nExpert], ROUTER_GAIN),
      matrix(`${b}.ffn_gate_exps.weight`, [nEmbd, nFfExp, nExpert]),
      matrix(`${b}.ffn_up_exps.weight`, [nEmbd, nFfExp, nExpert]),
      matrix(`${b}.ffn_down_exps.weight`, [nFfExp, nEmbd, nExpert]),
    );
  }
  return t;
}
