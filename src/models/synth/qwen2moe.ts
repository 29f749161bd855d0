// llama.cpp arch "qwen2moe" (Qwen1.5-MoE / Qwen2-MoE): Qwen2 attention with q/k/v biases, routed experts plus one
// shared expert whose output is scaled by sigmoid(ffn_gate_inp_shexp · x).
import type { QwenMoeHParams } from './presets.ts';
import { ROUTER_GAIN, matrix, meta, norm, vector, type MetaEntry, type TensorPlan } from './spec.ts';

export function qwen2moeMetadata(hp: QwenMoeHParams): MetaEntry[] {
  const a = 'qwen2moe';
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
    meta.u32(`${a}.expert_feed_forward_length`, hp.nFfExp),
    meta.u32(`${a}.expert_shared_feed_forward_length`, hp.nFfShexp),
  ];
}

export function qwen2moeTensors(hp: QwenMoeHParams): TensorPlan[] {
  const { nEmbd, nHead, nHeadKv, headDim, nFfExp, nFfShexp, nExpert } = hp;
  const nQ = nHead * headDim;
  const nKv = nHeadKv * headDim;
  const t: TensorPlan[] = [];
  for (let i = 0; i < hp.nLayer; i++) {
    const b = `blk.${i}`;
    t.push(
      norm(`${b}.attn_norm.weight`, nEmbd),
      matrix(`${b}.attn_q.weight`, [nEmbd, nQ]), // [n_embd, n_embd]: Qwen2 has n_head*head_dim == n_embd
      vector(`${b}.attn_q.bias`, nQ, 0.1),
      matrix(`${b}.attn_k.weight`, [nEmbd, nKv]),
      vector(`${b}.attn_k.bias`, nKv, 0.1),
      matrix(`${b}.attn_v.weight`, [nEmbd, nKv]),
      vector(`${b}.attn_v.bias`, nKv, 0.1),
      matrix(`${b}.attn_output.weight`, [nQ, nEmbd]),
      norm(`${b}.ffn_norm.weight`, nEmbd),
      matrix(`${b}.ffn_gate_inp.weight`, [nEmbd, nExpert], ROUTER_GAIN), // [n_embd, n_expert]
      matrix(`${b}.ffn_gate_exps.weight`, [nEmbd, nFfExp, nExpert]),
      matrix(`${b}.ffn_up_exps.weight`, [nEmbd, nFfExp, nExpert]),
      matrix(`${b}.ffn_down_exps.weight`, [nFfExp, nEmbd, nExpert]),
      vector(`${b}.ffn_gate_inp_shexp.weight`, nEmbd, 1 / Math.sqrt(nEmbd)), // [n_embd]: one logit for the shared expert
      matrix(`${b}.ffn_gate_shexp.weight`, [nEmbd, nFfShexp]),
      matrix(`${b}.ffn_up_shexp.weight`, [nEmbd, nFfShexp]),
      matrix(`${b}.ffn_down_shexp.weight`, [nFfShexp, nEmbd]),
    );
  }
  return t;
}
