// Vocabulary shared by the synthetic-model modules: what an architecture file declares (tensors with their
// initialisation, metadata entries) and small builders for both.
import { GGUFValueType, type GGUFEntry } from '../../gguf/types.ts';

export const SYNTH_ARCHS = ['llama', 'mixtral', 'deepseek2', 'deepseek2-v3', 'qwen2moe', 'qwen3moe'] as const;
export type SynthArch = (typeof SYNTH_ARCHS)[number];

export const SYNTH_PRESETS = ['tiny', 'small', 'v2-lite-shape'] as const;
export type SynthPreset = (typeof SYNTH_PRESETS)[number];

/** Gaussian initialisation of one tensor. */
export interface Init {
  readonly mean: number;
  readonly std: number;
}

/** One tensor to generate. dims in ggml order: dims[0] is the contiguous row. */
export interface TensorPlan {
  readonly name: string;
  readonly dims: readonly number[];
  readonly init: Init;
}

export type MetaEntry = readonly [string, GGUFEntry];

export const meta = {
  str: (k: string, v: string): MetaEntry => [k, { type: GGUFValueType.STRING, value: v }],
  u32: (k: string, v: number): MetaEntry => [k, { type: GGUFValueType.UINT32, value: v }],
  f32: (k: string, v: number): MetaEntry => [k, { type: GGUFValueType.FLOAT32, value: Math.fround(v) }],
  bool: (k: string, v: boolean): MetaEntry => [k, { type: GGUFValueType.BOOL, value: v }],
};

/**
 * A weight matrix with std gain/sqrt(fan_in): every projection then maps unit-RMS inputs to outputs of RMS ~gain,
 * so the residual stream neither vanishes nor explodes over the layers. fan_in is dims[0] (the row that is dotted
 * with the input).
 */
export function matrix(name: string, dims: readonly number[], gain = 1): TensorPlan {
  return { name, dims, init: { mean: 0, std: gain / Math.sqrt(dims[0]!) } };
}

/** RMS-norm weights 1 ± 0.1: close to what trained models have, yet not all equal. */
export function norm(name: string, n: number): TensorPlan {
  return { name, dims: [n], init: { mean: 1, std: 0.1 } };
}

export function vector(name: string, n: number, std: number): TensorPlan {
  return { name, dims: [n], init: { mean: 0, std } };
}

/**
 * Router logits get gain 2 (logit std ~2 over unit-RMS inputs) so that top-k picks differ from token to token
 * instead of all experts scoring alike.
 */
export const ROUTER_GAIN = 2;
