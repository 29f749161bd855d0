// What rules may say: ktweb's op classes, the KTransformers class paths and op names they map to (so a
// KTransformers rule file places modules the same way here), the kwargs, and device names.
export type OpClass = 'default' | 'model' | 'linear' | 'experts' | 'moe' | 'attention' | 'gate' | 'rope' | 'norm' | 'mlp';
export type Device = 'gpu' | 'cpu';

export const OP_CLASSES: readonly OpClass[] = ['default', 'model', 'linear', 'experts', 'moe', 'attention', 'gate', 'rope', 'norm', 'mlp'];

// KTransformers replace classes (last path segment; several spellings from older rule files included).
const KT_CLASSES: Readonly<Record<string, OpClass>> = {
  KTransformersLinear: 'linear',
  KTransformerLinear: 'linear',
  KTransformersExperts: 'experts',
  KTransformersExpertsV2: 'experts',
  KTransformersMLPExpert: 'experts',
  KDeepseekV2MoE: 'moe',
  KDeepseekV3MoE: 'moe',
  KDeepseekV3MoEV2: 'moe',
  KQwen2MoeSparseMoeBlock: 'moe',
  KQwen2MoeSparseMoeBlockV2: 'moe',
  KQwen3MoeSparseMoeBlock: 'moe',
  KQwen3MoeSparseMoeBlockV2: 'moe',
  KMistralSparseMoEBlock: 'moe',
  MisrtalSparseMoEBlockInjected: 'moe',
  KDeepseekV2Attention: 'attention',
  KLlamaAttention: 'attention',
  KMoEGate: 'gate',
  KMoEGateQwen2Moe: 'gate',
  RotaryEmbedding: 'rope',
  RotaryEmbeddingV2: 'rope',
  RotaryEmbeddingV3: 'rope',
  YarnRotaryEmbedding: 'rope',
  YarnRotaryEmbeddingV3: 'rope',
  KQwen3MoeRotaryEmbedding: 'rope',
  KDeepseekV2Model: 'model',
  KQwen2MoeModel: 'model',
  KLlamaModel: 'model',
  RMSNorm: 'norm',
  KQwen3MoeRMSNorm: 'norm',
  kDeepseekV3MLP: 'mlp',
  KQwen2MoeMLP: 'mlp',
};

/** A rule's replace.class → op class, or undefined when unknown. */
export function opClassOf(cls: string): OpClass | undefined {
  if ((OP_CLASSES as readonly string[]).includes(cls)) return cls as OpClass;
  if (!cls.startsWith('ktransformers.')) return undefined;
  return KT_CLASSES[cls.slice(cls.lastIndexOf('.') + 1)];
}

/** Op names (generate_op / prefill_op): KTransformers' and their older spellings → where they run. */
export const OPS: Readonly<Record<string, Device | 'any'>> = {
  KExpertsCPU: 'cpu',
  MLPCPUExperts: 'cpu',
  KExpertsTorch: 'gpu',
  MLPExpertsTorch: 'gpu',
  KExpertsMarlin: 'gpu',
  KLinearMarlin: 'gpu',
  VLinearMarlin: 'gpu',
  QuantizedLinearMarlin: 'gpu',
  KLinearTorch: 'any',
  QuantizedLinearTorch: 'any',
  KLinearFP8: 'gpu',
  KLinearQ8: 'any',
  KLinearCPUInfer: 'cpu',
  None: 'any',
};

export const KWARGS: ReadonlySet<string> = new Set([
  'generate_device',
  'prefill_device',
  'generate_op',
  'prefill_op',
  'out_device',
  'backend',
  'absorb_for_prefill',
  'chunck_size',
  'per_layer_prefill_intput_threshold',
  'transfer_map',
  'num_bits',
  'group_size',
  'act_order',
  'is_k_full',
  'stride',
  'group_max_len',
  'use_quant',
  'precision',
  // older KTransformers spellings of generate_op / prefill_op
  'generate_mlp_type',
  'prefill_mlp_type',
  // ktweb: add the lowest-weight experts' output in the next layer (kt-kernel deferral); off by default
  'defer_experts',
]);

/** `cuda`, `cuda:N`, `gpu` → gpu; `cpu` → cpu; anything else undefined. */
export function parseDevice(s: unknown): Device | undefined {
  if (s === 'cpu') return 'cpu';
  if (s === 'gpu' || s === 'cuda' || (typeof s === 'string' && /^cuda:\d+$/.test(s))) return 'gpu';
  return undefined;
}
