// llama.cpp arch "llama": dense Llama, and Mixtral (same arch plus expert_count and merged 3D expert tensors),
// as llama.cpp src/models/llama.cpp loads them.
import type { LlamaHParams } from './presets.ts';
import { ROUTER_GAIN, matrix, meta, norm, type MetaEntry, type TensorPlan } from './spec.ts';

export function llamaMetadata(hp: LlamaHParams): MetaEntry[] {
  const a = 'llama';
  const m: MetaEntry[] = [
    meta.u32(`${a}.vocab_size`, hp.nVocab),
    meta.u32(`${a}.context_length`, hp.nCtx),
    meta.u32(`${a}.embedding_length`, hp.nEmbd),
    meta.u32(`${a}.block_count`, hp.nLayer),
    meta.u32(`${a}.feed_forward_length`, hp.nFf),
    // llama.cpp refuses llama files whose n_rot differs from the head size.
    meta.u32(`${a}.rope.dimension_count`, hp.headDim),
    meta.u32(`${a}.attention.head_count`, hp.nHead),
    meta.u32(`${a}.attention.head_count_kv`, hp.nHeadKv),
    meta.f32(`${a}.attention.layer_norm_rms_epsilon`, hp.rmsEps),
    meta.f32(`${a}.rope.freq_base`, hp.ropeBase),
  ];
  // Llama GGUFs carry no key_length: the presets keep head_dim == n_embd / n_head, which llama.cpp derives.
  if (hp.nExpert > 0) m.push(meta.u32(`${a}.expert_count`, hp.nExpert), meta.u32(`${a}.expert_used_count`, hp.nExpertUsed));
  return m;
}

export function llamaTensors(hp: LlamaHParams): TensorPlan[] {
  const { nEmbd, nHead, nHeadKv, headDim, nFf, nExpert } = hp;
  const t: TensorPlan[] = [];
  for (let i = 0; i < hp.nLayer; i++) {
    const b = `blk.${i}`;
    t.push(
      norm(`${b}.attn_norm.weight`, nEmbd),
      matrix(`${b}.attn_q.weight`, [nEmbd, nHead * headDim]), // [n_embd, n_head*head_dim]
      matrix(`${b}.attn_k.weight`, [nEmbd, nHeadKv * headDim]),
      matrix(`${b}.attn_v.weight`, [nEmbd, nHeadKv * headDim]),
      matrix(`${b}.attn_output.weight`, [nHead * headDim, nEmbd]),
      norm(`${b}.ffn_norm.weight`, nEmbd),
    );
    if (nExpert === 0) {
      t.push(
        matrix(`${b}.ffn_gate.weight`, [nEmbd, nFf]),
        matrix(`${b}.ffn_up.weight`, [nEmbd, nFf]),
        matrix(`${b}.ffn_down.weight`, [nFf, nEmbd]),
      );
    } else {
      t.push(
        matrix(`${b}.ffn_gate_inp.weight`, [nEmbd, nExpert], ROUTER_GAIN),
        matrix(`${b}.ffn_gate_exps.weight`, [nEmbd, nFf, nExpert]), // [n_embd, n_ff, n_expert]
        matrix(`${b}.ffn_up_exps.weight`, [nEmbd, nFf, nExpert]),
        matrix(`${b}.ffn_down_exps.weight`, [nFf, nEmbd, nExpert]), // [n_ff, n_embd, n_expert]
      );
    }
  }
  return t;
}
