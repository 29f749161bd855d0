// Hyperparameters of every (architecture, preset) pair. `tiny` keeps every row length (dims[0] of a matrix) a
// multiple of 256 so K-quants and IQ4_XS apply without fallback (one exception: attn_k_b of the --mla-split layout
// has rows of qk_nope, 64 here and 128 in real DeepSeek GGUFs, which llama.cpp also stores in a fallback type); `small` is 50-200 MB at Q4_K_M; `v2-lite-shape`
// copies DeepSeek-V2-Lite's config.json.
import { EngineError } from '../../core/errors.ts';
import type { SynthArch, SynthPreset } from './spec.ts';

export type VocabKind = 'stories-spm' | 'deepseek-llm' | 'qwen2';

interface CommonHParams {
  readonly arch: SynthArch;
  readonly preset: SynthPreset;
  readonly vocab: VocabKind;
  readonly nVocab: number;
  readonly nCtx: number;
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nHead: number;
  readonly rmsEps: number;
  readonly ropeBase: number;
  readonly nExpert: number;
  readonly nExpertUsed: number;
}

/** llama (dense when nExpert is 0) and mixtral. */
export interface LlamaHParams extends CommonHParams {
  readonly family: 'llama';
  readonly nHeadKv: number;
  readonly headDim: number;
  readonly nFf: number;
}

export interface QwenMoeHParams extends CommonHParams {
  readonly family: 'qwen2moe' | 'qwen3moe';
  readonly nHeadKv: number;
  readonly headDim: number;
  /** feed_forward_length: the dense size of the HF config (llama.cpp only uses it as a fallback). */
  readonly nFf: number;
  readonly nFfExp: number;
  /** qwen2moe's shared expert width; 0 for qwen3moe (no shared expert). */
  readonly nFfShexp: number;
}

export interface YarnParams {
  readonly factor: number;
  readonly origCtx: number;
  readonly betaFast: number;
  readonly betaSlow: number;
  /** HF rope_scaling.mscale_all_dim; the GGUF stores 0.1 * this as yarn_log_multiplier. */
  readonly mscaleAllDim: number;
}

export interface Deepseek2HParams extends CommonHParams {
  readonly family: 'deepseek2';
  /** 0: no q compression (V2-Lite), attn_q instead of attn_q_a/attn_q_b. */
  readonly qLoraRank: number;
  readonly kvLoraRank: number;
  readonly qkNope: number;
  readonly qkRope: number;
  readonly vHead: number;
  /** Dense FFN width of the leading layers. */
  readonly nFf: number;
  readonly nFfExp: number;
  readonly nExpertShared: number;
  readonly leadingDense: number;
  /** llama.cpp expert_gating_func: 1 softmax (V2), 2 sigmoid (V3). */
  readonly gatingFunc: 1 | 2;
  readonly weightsScale: number;
  readonly weightsNorm: boolean;
  readonly groupCount: number;
  readonly groupUsed: number;
  /** V3's e_score_correction_bias (blk.N.exp_probs_b.bias). */
  readonly expProbsBias: boolean;
  readonly yarn: YarnParams;
  /** true: attn_k_b + attn_v_b and the *_mla keys (current convert_hf_to_gguf); false: attn_kv_b (older GGUFs). */
  readonly mlaSplit: boolean;
}

export type SynthHParams = LlamaHParams | QwenMoeHParams | Deepseek2HParams;

export interface PresetOptions {
  /** deepseek2 only: false drops q compression (V2-Lite style). Default: the preset's choice. */
  readonly qLora?: boolean;
  /** deepseek2 only: split attn_kv_b into attn_k_b/attn_v_b. */
  readonly mlaSplit?: boolean;
}

const TINY = { nEmbd: 256, nLayer: 2, nCtx: 4096, rmsEps: 1e-5 } as const;
const SMALL = { nEmbd: 1024, nLayer: 8, nCtx: 4096, rmsEps: 1e-5 } as const;
const BPE_SMALL_VOCAB = 8192;
const SPM_VOCAB = 512;

function llamaLike(arch: 'llama' | 'mixtral', preset: 'tiny' | 'small'): LlamaHParams {
  const moe = arch === 'mixtral';
  const base = { arch, preset, family: 'llama', vocab: 'stories-spm', nVocab: SPM_VOCAB, ropeBase: moe ? 1e6 : 10000 } as const;
  if (preset === 'tiny') {
    return { ...base, ...TINY, nHead: 2, nHeadKv: 1, headDim: 128, nFf: 256, nExpert: moe ? 4 : 0, nExpertUsed: moe ? 2 : 0 };
  }
  return { ...base, ...SMALL, nHead: 16, nHeadKv: 4, headDim: 64, nFf: moe ? 1024 : 4096, nExpert: moe ? 8 : 0, nExpertUsed: moe ? 2 : 0 };
}

function qwenMoe(arch: 'qwen2moe' | 'qwen3moe', preset: 'tiny' | 'small'): QwenMoeHParams {
  const q2 = arch === 'qwen2moe';
  const base = { arch, preset, family: arch, vocab: 'qwen2', ropeBase: 1e6 } as const;
  if (preset === 'tiny') {
    // qwen2moe needs n_head * head_dim == n_embd (its attn_output is [n_embd, n_embd]); qwen3moe gets a head_dim
    // that differs from n_embd / n_head, as Qwen3-30B-A3B has (2048 / 32 = 64, head_dim 128).
    const att = q2 ? { nHead: 2, nHeadKv: 1, headDim: 128 } : { nHead: 4, nHeadKv: 2, headDim: 128 };
    return { ...base, ...TINY, rmsEps: 1e-6, nVocab: 512, ...att, nFf: 256, nFfExp: 256, nFfShexp: q2 ? 256 : 0, nExpert: 4, nExpertUsed: 2 };
  }
  const att = q2 ? { nHead: 16, nHeadKv: 16, headDim: 64 } : { nHead: 16, nHeadKv: 4, headDim: 128 };
  return { ...base, ...SMALL, rmsEps: 1e-6, nVocab: BPE_SMALL_VOCAB, ...att, nFf: 2816, nFfExp: 512, nFfShexp: q2 ? 1024 : 0, nExpert: 16, nExpertUsed: 4 };
}

// DeepSeek-V2-Lite (config.json): mscale_all_dim 0.707; V3/R1: 1.0. Both: factor 40 over 4096 tokens, betas 32/1.
const YARN_V2: YarnParams = { factor: 40, origCtx: 4096, betaFast: 32, betaSlow: 1, mscaleAllDim: 0.707 };
const YARN_V3: YarnParams = { factor: 40, origCtx: 4096, betaFast: 32, betaSlow: 1, mscaleAllDim: 1.0 };

function deepseek(arch: 'deepseek2' | 'deepseek2-v3', preset: SynthPreset, opt: PresetOptions): Deepseek2HParams {
  const v3 = arch === 'deepseek2-v3';
  const mlaSplit = opt.mlaSplit ?? false;
  const routing = v3
    ? { gatingFunc: 2, weightsScale: 2.5, weightsNorm: true, expProbsBias: true, yarn: YARN_V3 } as const
    : { gatingFunc: 1, weightsScale: 1.0, weightsNorm: false, expProbsBias: false, yarn: YARN_V2 } as const;
  const base = { arch, preset, family: 'deepseek2', vocab: 'deepseek-llm', nCtx: 163840, ropeBase: 10000, mlaSplit, ...routing } as const;
  const mla = { qkNope: 128, qkRope: 64, vHead: 128 } as const;
  if (preset === 'tiny') {
    // nope, rope and v head sizes all differ (64/32/128) so that code mixing them up fails on tiny models too;
    // smaller than V2's 128/64/128 to keep the 8-expert V3 tiny under 2 MB at Q4_K_M.
    const tinyMla = { qkNope: 64, qkRope: 32, vHead: 128 } as const;
    const experts = v3 ? { nExpert: 8, nExpertUsed: 2, groupCount: 4, groupUsed: 2 } : { nExpert: 4, nExpertUsed: 2, groupCount: 0, groupUsed: 0 };
    return {
      ...base, ...tinyMla, ...experts, nEmbd: TINY.nEmbd, nLayer: TINY.nLayer, rmsEps: 1e-6, nVocab: 512, nHead: 2,
      qLoraRank: opt.qLora === false ? 0 : 256, kvLoraRank: 256, nFf: 256, nFfExp: 256, nExpertShared: 1, leadingDense: 1,
    };
  }
  if (preset === 'small') {
    const experts = v3 ? { nExpert: 16, nExpertUsed: 4, groupCount: 4, groupUsed: 2, nExpertShared: 1 } : { nExpert: 16, nExpertUsed: 4, groupCount: 0, groupUsed: 0, nExpertShared: 2 };
    return {
      ...base, ...mla, ...experts, nEmbd: SMALL.nEmbd, nLayer: SMALL.nLayer, rmsEps: 1e-6, nVocab: BPE_SMALL_VOCAB, nHead: 8,
      qLoraRank: opt.qLora === false ? 0 : 768, kvLoraRank: 512, nFf: 2816, nFfExp: 512, leadingDense: 1,
    };
  }
  if (v3) throw new EngineError('bad_argument', 'preset v2-lite-shape is only for --arch deepseek2 (DeepSeek-V2-Lite has the V2 softmax router)');
  if (opt.qLora === true) throw new EngineError('bad_argument', 'preset v2-lite-shape has no q compression (q_lora_rank null in its config)');
  // /work/shared/data/configs/deepseek-v2-lite/config.json, verbatim (n_group 1 / topk_group 1 included, which
  // convert_hf_to_gguf writes as expert_group_count / expert_group_used_count).
  return {
    ...base, ...mla, nEmbd: 2048, nLayer: 27, rmsEps: 1e-6, nVocab: 102400, nHead: 16, qLoraRank: 0, kvLoraRank: 512,
    nFf: 10944, nFfExp: 1408, nExpert: 64, nExpertUsed: 6, nExpertShared: 2, leadingDense: 1, groupCount: 1, groupUsed: 1,
  };
}

export function presetHParams(arch: SynthArch, preset: SynthPreset, opt: PresetOptions = {}): SynthHParams {
  const isDeepseek = arch === 'deepseek2' || arch === 'deepseek2-v3';
  if (!isDeepseek && (opt.qLora !== undefined || opt.mlaSplit === true)) {
    throw new EngineError('bad_argument', `--no-q-lora and --mla-split apply to deepseek2 and deepseek2-v3 only, not ${arch}`);
  }
  if (isDeepseek) return deepseek(arch, preset, opt);
  if (preset === 'v2-lite-shape') {
    throw new EngineError('bad_argument', `preset v2-lite-shape is only for --arch deepseek2, not ${arch}`);
  }
  if (arch === 'llama' || arch === 'mixtral') return llamaLike(arch, preset);
  return qwenMoe(arch, preset);
}

/** n_head / n_head_kv as llama.cpp computes it from the GGUF (MLA with split k_b/v_b is MQA: n_head_kv = 1). */
export function headCountKv(hp: SynthHParams): number {
  if (hp.family !== 'deepseek2') return hp.nHeadKv;
  return hp.mlaSplit ? 1 : hp.nHead;
}
