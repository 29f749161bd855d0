// Which shipped rule file a model gets when --rules is not given, from its architecture and size.
import type { Model } from '../models/model.ts';

export function defaultRulesFile(model: Model, family: string): string {
  const hp = model.hp;
  if (hp.nExpert === 0) return 'all-gpu.yaml';
  if (family === 'DeepseekV3') return 'deepseek-v3.yaml';
  if (family === 'DeepseekV2') return hp.nLayer === 27 && hp.nEmbd === 2048 ? 'deepseek-v2-lite.yaml' : 'deepseek-v2.yaml';
  if (family === 'Qwen2Moe') return 'qwen2moe.yaml';
  if (family === 'Qwen3Moe') return 'qwen3moe.yaml';
  return 'mixtral.yaml';
}
