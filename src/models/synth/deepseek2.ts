// llama.cpp arch "deepseek2" (DeepSeek-V2/V2-Lite/V3/R1): MLA attention, leading dense layers, routed experts
// plus shared experts. Both MLA tensor layouts llama.cpp loads are produced: attn_kv_b (older GGUFs, no *_mla keys,
// attention treated as MHA with n_head_kv = n_head) and attn_k_b + attn_v_b (current convert_hf_to_gguf: the
// absorbed form, MQA over the 576-wide compressed cache, with key_length_mla / value_length_mla).
import type { Deepseek2HParams } from './presets.ts';
import { ROUTER_GAIN, matrix, meta, norm, vector, type MetaEntry, type TensorPlan } from './spec.ts';

export function deepseek2Metadata(hp: Deepseek2HParams): MetaEntry[] {
  const a = 'deepseek2';
  const m: MetaEntry[] = [
    meta.u32(`${a}.vocab_size`, hp.nVocab),
    meta.u32(`${a}.context_length`, hp.nCtx),
    meta.u32(`${a}.embedding_length`, hp.nEmbd),
    meta.u32(`${a}.block_count`, hp.nLayer),
    meta.u32(`${a}.feed_forward_length`, hp.nFf),
    meta.u32(`${a}.attention.head_count`, hp.nHead),
    meta.u32(`${a}.attention.head_count_kv`, hp.mlaSplit ? 1 : hp.nHead),
    meta.f32(`${a}.rope.freq_base`, hp.ropeBase),
    meta.f32(`${a}.attention.layer_norm_rms_epsilon`, hp.rmsEps),
    meta.u32(`${a}.expert_count`, hp.nExpert),
    meta.u32(`${a}.expert_used_count`, hp.nExpertUsed),
    meta.u32(`${a}.leading_dense_block_count`, hp.leadingDense),
  ];
  if (hp.groupCount > 0) {
    m.push(meta.u32(`${a}.expert_group_count`, hp.groupCount), meta.u32(`${a}.expert_group_used_count`, hp.groupUsed));
  }
  // llama.cpp reads q_lora_rank unconditionally except for the 26/27-layer "lite" models, whose configs have
  // q_lora_rank null (and convert_hf_to_gguf then writes no key).
  const lite = hp.nLayer === 26 || hp.nLayer === 27;
  if (hp.qLoraRank > 0 || !lite) m.push(meta.u32(`${a}.attention.q_lora_rank`, hp.qLoraRank));
  m.push(meta.u32(`${a}.attention.kv_lora_rank`, hp.kvLoraRank));
  if (hp.mlaSplit) {
    m.push(
      meta.u32(`${a}.attention.key_length`, hp.kvLoraRank + hp.qkRope),
      meta.u32(`${a}.attention.value_length`, hp.kvLoraRank),
      meta.u32(`${a}.attention.key_length_mla`, hp.qkNope + hp.qkRope),
      meta.u32(`${a}.attention.value_length_mla`, hp.vHead),
    );
  } else {
    m.push(meta.u32(`${a}.attention.key_length`, hp.qkNope + hp.qkRope), meta.u32(`${a}.attention.value_length`, hp.vHead));
  }
  m.push(
    meta.u32(`${a}.expert_feed_forward_length`, hp.nFfExp),
    meta.u32(`${a}.expert_shared_count`, hp.nExpertShared),
    meta.f32(`${a}.expert_weights_scale`, hp.weightsScale),
  );
  // convert_hf_to_gguf writes expert_weights_norm only when norm_topk_prob is true.
  if (hp.weightsNorm) m.push(meta.bool(`${a}.expert_weights_norm`, true));
  m.push(
    meta.u32(`${a}.expert_gating_func`, hp.gatingFunc),
    meta.u32(`${a}.rope.dimension_count`, hp.qkRope),
    meta.str(`${a}.rope.scaling.type`, 'yarn'),
    meta.f32(`${a}.rope.scaling.factor`, hp.yarn.factor),
    meta.u32(`${a}.rope.scaling.original_context_length`, hp.yarn.origCtx),
    meta.f32(`${a}.rope.scaling.yarn_beta_fast`, hp.yarn.betaFast),
    meta.f32(`${a}.rope.scaling.yarn_beta_slow`, hp.yarn.betaSlow),
    // convert_hf_to_gguf stores 0.1 * mscale_all_dim here and llama.cpp divides it back out.
    meta.f32(`${a}.rope.scaling.yarn_log_multiplier`, 0.1 * hp.yarn.mscaleAllDim),
  );
  return m;
}

export function deepseek2Tensors(hp: Deepseek2HParams): TensorPlan[] {
  const { nEmbd, nHead, qLoraRank, kvLoraRank, qkNope, qkRope, vHead, nFf, nFfExp, nExpert, nExpertShared } = hp;
  const nQ = nHead * (qkNope + qkRope);
  const nShexp = nFfExp * nExpertShared;
  const t: TensorPlan[] = [];
  for (let i = 0; i < hp.nLayer; i++) {
    const b = `blk.${i}`;
    t.push(norm(`${b}.attn_norm.weight`, nEmbd));
    if (qLoraRank > 0) {
      t.push(
        matrix(`${b}.attn_q_a.weight`, [nEmbd, qLoraRank]), // [n_embd, q_lora_rank]
        norm(`${b}.attn_q_a_norm.weight`, qLoraRank),
        matrix(`${b}.attn_q_b.weight`, [qLoraRank, nQ]), // [q_lora_rank, n_head*(qk_nope+qk_rope)]
      );
    } else {
      t.push(matrix(`${b}.attn_q.weight`, [nEmbd, nQ]));
    }
    t.push(
      matrix(`${b}.attn_kv_a_mqa.weight`, [nEmbd, kvLoraRank + qkRope]), // [n_embd, kv_lora_rank+qk_rope]
      norm(`${b}.attn_kv_a_norm.weight`, kvLoraRank),
    );
    if (hp.mlaSplit) {
      t.push(
        matrix(`${b}.attn_k_b.weight`, [qkNope, kvLoraRank, nHead]), // [qk_nope, kv_lora_rank, n_head]
        matrix(`${b}.attn_v_b.weight`, [kvLoraRank, vHead, nHead]), // [kv_lora_rank, v_head, n_head]
      );
    } else {
      t.push(matrix(`${b}.attn_kv_b.weight`, [kvLoraRank, nHead * (qkNope + vHead)])); // [kv_lora_rank, n_head*(qk_nope+v_head)]
    }
    t.push(matrix(`${b}.attn_output.weight`, [nHead * vHead, nEmbd]), norm(`${b}.ffn_norm.weight`, nEmbd));
    if (i < hp.leadingDense) {
      t.push(
        matrix(`${b}.ffn_gate.weight`, [nEmbd, nFf]),
        matrix(`${b}.ffn_up.weight`, [nEmbd, nFf]),
        matrix(`${b}.ffn_down.weight`, [nFf, nEmbd]),
      );
      continue;
    }
    t.push(matrix(`${b}.ffn_gate_inp.weight`, [nEmbd, nExpert], ROUTER_GAIN));
    // Small against sigmoid scores in (0, 1): it nudges which experts win without deciding alone.
    if (hp.expProbsBias) t.push(vector(`${b}.exp_probs_b.bias`, nExpert, 0.05));
    t.push(
      matrix(`${b}.ffn_gate_exps.weight`, [nEmbd, nFfExp, nExpert]), // [n_embd, n_ff_exp, n_expert]
      matrix(`${b}.ffn_up_exps.weight`, [nEmbd, nFfExp, nExpert]),
      matrix(`${b}.ffn_down_exps.weight`, [nFfExp, nEmbd, nExpert]), // [n_ff_exp, n_embd, n_expert]
      matrix(`${b}.ffn_gate_shexp.weight`, [nEmbd, nShexp]), // [n_embd, n_ff_exp*n_shared]
      matrix(`${b}.ffn_up_shexp.weight`, [nEmbd, nShexp]),
      matrix(`${b}.ffn_down_shexp.weight`, [nShexp, nEmbd]),
    );
  }
  return t;
}
