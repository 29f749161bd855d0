// general.architecture → architecture file. Adding an architecture = one file + one line here.
import { EngineError } from '../core/errors.ts';
import { mdString, type Metadata } from '../gguf/metadata.ts';
import type { GGUFModel } from '../gguf/model.ts';
import { makeModel, type Architecture, type Model } from './model.ts';
import { deepseek2 } from './deepseek2.ts';
import { llama } from './llama.ts';
import { qwen2moe, qwen3moe } from './qwen-moe.ts';

const ARCHITECTURES: Readonly<Record<string, Architecture>> = {
  deepseek2: deepseek2 as unknown as Architecture,
  llama: llama as unknown as Architecture,
  qwen2moe: qwen2moe as unknown as Architecture,
  qwen3moe: qwen3moe as unknown as Architecture,
};

export function architecture(name: string, file: string): Architecture {
  const a = ARCHITECTURES[name];
  if (a === undefined) {
    throw new EngineError('model_invalid', `architecture "${name}" is not supported; supported: ${Object.keys(ARCHITECTURES).join(', ')}`, { file, key: 'general.architecture' });
  }
  return a;
}

/** The model a GGUF describes: its architecture file over its metadata (or that metadata completed by an HF config). */
export function modelFromGGUF(gguf: GGUFModel, md: Metadata = gguf.metadata): Model {
  return makeModel(architecture(mdString(md, 'general.architecture', gguf.name), gguf.name), md, gguf.name, (n) => gguf.tensors.get(n)?.info.dims);
}
