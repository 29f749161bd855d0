// Hugging Face config.json → GGUF metadata keys (as llama.cpp's convert_hf_to_gguf.py writes them), and the
// merge KTransformers users expect when they pass --model-path with --gguf-path: the GGUF supplies weights and
// metadata, config.json must describe the same model. Where both state a value and they disagree, loading stops
// with a typed error naming the config field and the GGUF key, instead of producing silent garbage.
import { EngineError } from '../core/errors.ts';
import type { Metadata } from '../gguf/metadata.ts';
import { GGUFValueType, type GGUFEntry } from '../gguf/types.ts';

type Json = Record<string, unknown>;

const ARCH_OF_HF: Readonly<Record<string, string>> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'llama',
  MixtralForCausalLM: 'llama',
  DeepseekV2ForCausalLM: 'deepseek2',
  DeepseekV3ForCausalLM: 'deepseek2',
  Qwen2MoeForCausalLM: 'qwen2moe',
  Qwen3MoeForCausalLM: 'qwen3moe',
};

/** One config value as a GGUF key: `from` is the config field (for messages). */
interface Mapped {
  readonly key: string;
  readonly value: number | boolean | string;
  readonly from: string;
}

function num(c: Json, f: string): number | undefined {
  const v = c[f];
  return typeof v === 'number' ? v : undefined;
}

/** The GGUF keys a config.json states, for architecture `arch` (general.architecture). */
export function hfConfigEntries(config: Json, file: string, ggufMd?: Metadata): { arch: string; entries: Mapped[] } {
  const archs = config['architectures'];
  const hfArch = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  const arch = hfArch !== undefined ? ARCH_OF_HF[hfArch] : undefined;
  if (arch === undefined) {
    throw new EngineError('model_invalid', `config.json architectures[0] is ${JSON.stringify(hfArch)}; supported: ${Object.keys(ARCH_OF_HF).join(', ')}`, { file, key: 'architectures' });
  }
  const out: Mapped[] = [];
  const put = (key: string, from: string, value: number | boolean | string | undefined): void => {
    if (value !== undefined) out.push({ key: key.startsWith('general.') ? key : `${arch}.${key}`, value, from });
  };
  const field = (key: string, f: string): void => put(key, f, num(config, f));
  field('embedding_length', 'hidden_size');
  field('block_count', 'num_hidden_layers');
  field('attention.head_count', 'num_attention_heads');
  field('attention.head_count_kv', 'num_key_value_heads');
  field('attention.layer_norm_rms_epsilon', 'rms_norm_eps');
  field('rope.freq_base', 'rope_theta');
  field('context_length', 'max_position_embeddings');
  field('vocab_size', 'vocab_size');
  field('feed_forward_length', 'intermediate_size');
  field('expert_used_count', 'num_experts_per_tok');
  for (const f of ['n_routed_experts', 'num_local_experts', 'num_experts']) field('expert_count', f);
  field('expert_feed_forward_length', 'moe_intermediate_size');
  if (arch === 'qwen2moe') field('expert_shared_feed_forward_length', 'shared_expert_intermediate_size');
  if (arch === 'qwen3moe') {
    field('attention.key_length', 'head_dim');
    field('attention.value_length', 'head_dim');
  }
  if (arch === 'deepseek2') {
    field('expert_shared_count', 'n_shared_experts');
    field('leading_dense_block_count', 'first_k_dense_replace');
    field('attention.kv_lora_rank', 'kv_lora_rank');
    put('attention.q_lora_rank', 'q_lora_rank', config['q_lora_rank'] === null ? 0 : num(config, 'q_lora_rank'));
    field('rope.dimension_count', 'qk_rope_head_dim');
    const nope = num(config, 'qk_nope_head_dim');
    const ropeD = num(config, 'qk_rope_head_dim');
    // GGUFs with split attn_k_b/attn_v_b state the per-head sizes under *_mla (key_length is then the cache width).
    const mla = ggufMd?.has(`${arch}.attention.key_length_mla`) === true ? '_mla' : '';
    if (nope !== undefined && ropeD !== undefined) put(`attention.key_length${mla}`, 'qk_nope_head_dim + qk_rope_head_dim', nope + ropeD);
    field(`attention.value_length${mla}`, 'v_head_dim');
    field('expert_weights_scale', 'routed_scaling_factor');
    if (typeof config['norm_topk_prob'] === 'boolean') put('expert_weights_norm', 'norm_topk_prob', config['norm_topk_prob']);
    field('expert_group_count', 'n_group');
    field('expert_group_used_count', 'topk_group');
    const sf = config['scoring_func'];
    if (sf === 'softmax' || sf === 'sigmoid') put('expert_gating_func', 'scoring_func', sf === 'softmax' ? 1 : 2);
  }
  const rs = config['rope_scaling'];
  if (rs !== null && typeof rs === 'object') {
    const r = rs as Json;
    const type = r['type'] ?? r['rope_type'];
    if (typeof type === 'string') put('rope.scaling.type', 'rope_scaling.type', type);
    put('rope.scaling.factor', 'rope_scaling.factor', num(r, 'factor'));
    put('rope.scaling.original_context_length', 'rope_scaling.original_max_position_embeddings', num(r, 'original_max_position_embeddings'));
    const m = num(r, 'mscale_all_dim');
    if (type === 'yarn' && m !== undefined) put('rope.scaling.yarn_log_multiplier', 'rope_scaling.mscale_all_dim (× 0.1)', 0.1 * m);
  }
  return { arch, entries: out };
}

function same(a: unknown, b: number | boolean | string): boolean {
  if (typeof a === 'bigint') a = Number(a);
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  return a === b;
}

function entry(v: number | boolean | string): GGUFEntry {
  if (typeof v === 'boolean') return { type: GGUFValueType.BOOL, value: v };
  if (typeof v === 'string') return { type: GGUFValueType.STRING, value: v };
  return Number.isInteger(v) && v >= 0 ? { type: GGUFValueType.UINT32, value: v } : { type: GGUFValueType.FLOAT32, value: v };
}

/**
 * GGUF metadata completed by config.json. Throws model_invalid naming both sides when they disagree; keys only
 * the config states are added (a GGUF without e.g. rope scaling keys gets them from the config).
 */
export function mergeHfConfig(md: Metadata, config: unknown, configFile: string, ggufFile: string): Metadata {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new EngineError('model_invalid', 'config.json is not a JSON object', { file: configFile });
  }
  const { arch, entries } = hfConfigEntries(config as Json, configFile, md);
  const ggufArch = md.get('general.architecture')?.value;
  if (ggufArch !== arch) {
    throw new EngineError('model_invalid', `config.json describes a ${arch} model but ${ggufFile} is ${String(ggufArch)}; pass the config directory of the same model`, { file: configFile, key: 'architectures' });
  }
  const out = new Map(md);
  for (const e of entries) {
    const g = md.get(e.key);
    if (g === undefined) {
      out.set(e.key, entry(e.value));
    } else if (!same(g.value, e.value)) {
      throw new EngineError(
        'model_invalid',
        `config.json ${e.from} = ${String(e.value)} disagrees with ${e.key} = ${String(g.value)} in ${ggufFile}; the config and the GGUF must describe the same model`,
        { file: configFile, key: e.from },
      );
    }
  }
  return out;
}
