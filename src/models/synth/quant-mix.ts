// Which ggml type each tensor gets: a faithful subset of llama.cpp's llama_tensor_get_type (src/llama-quant.cpp)
// for the mixes offered here, --tensor-type overrides (first matching regex wins, as llama-quantize does), and
// llama.cpp's fallback when a row is not a whole number of blocks (tensor_type_fallback).
import { EngineError } from '../../core/errors.ts';
import { GGML_TYPE_GEOMETRY, GGMLType, ggmlTypeName, parseGGMLType } from '../../core/ggml-type.ts';
import { QUANT_TRAITS } from '../../quant/registry.ts';
import type { TensorPlan } from './spec.ts';

export const QUANT_MIXES = ['F32', 'F16', 'Q8_0', 'Q4_0', 'Q4_K_M', 'Q5_K_M', 'IQ4_XS'] as const;
export type QuantMix = (typeof QUANT_MIXES)[number];

// llama.h enum llama_ftype, stored as general.file_type.
const FTYPE: Record<QuantMix, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, Q4_K_M: 15, Q5_K_M: 17, IQ4_XS: 30 };
const DEFAULT_TYPE: Record<QuantMix, GGMLType> = {
  F32: GGMLType.F32,
  F16: GGMLType.F16,
  Q4_0: GGMLType.Q4_0,
  Q8_0: GGMLType.Q8_0,
  Q4_K_M: GGMLType.Q4_K,
  Q5_K_M: GGMLType.Q5_K,
  IQ4_XS: GGMLType.IQ4_XS,
};

export function parseQuantMix(s: string): QuantMix {
  const m = QUANT_MIXES.find((q) => q.toLowerCase() === s.toLowerCase());
  if (m === undefined) throw new EngineError('bad_argument', `unknown --quant ${s}; one of ${QUANT_MIXES.join(', ')}`);
  return m;
}

export function fileTypeOf(mix: QuantMix): number {
  return FTYPE[mix];
}

export interface TensorTypeOverride {
  readonly pattern: RegExp;
  readonly type: GGMLType;
  /** As the user wrote it, for messages. */
  readonly source: string;
}

// Q8_1 and Q8_K exist in ggml only as the activation side of dot products; llama.cpp has no weight kernels for them.
const ACTIVATION_ONLY = new Set<number>([GGMLType.Q8_1, GGMLType.Q8_K]);

/** Parses `REGEX=TYPE` (split at the last '=', since type names never contain one). */
export function parseTensorTypeOverride(s: string): TensorTypeOverride {
  const eq = s.lastIndexOf('=');
  if (eq <= 0 || eq === s.length - 1) throw new EngineError('bad_argument', `--tensor-type ${s}: expected REGEX=TYPE, e.g. ffn_down_exps=q6_K`);
  const re = s.slice(0, eq);
  const typeName = s.slice(eq + 1);
  const type = parseGGMLType(typeName);
  const usable = [...QUANT_TRAITS.keys()].filter((t) => !ACTIVATION_ONLY.has(t)).map((t) => ggmlTypeName(t));
  if (type === undefined) throw new EngineError('bad_argument', `--tensor-type ${s}: unknown type ${typeName}; one of ${usable.join(', ')}`);
  if (ACTIVATION_ONLY.has(type)) {
    throw new EngineError('bad_argument', `--tensor-type ${s}: ${ggmlTypeName(type)} is an activation-only type in llama.cpp (no weight kernels); use Q8_0 for 8-bit weights`);
  }
  if (!QUANT_TRAITS.has(type)) {
    throw new EngineError('bad_argument', `--tensor-type ${s}: ktweb cannot encode ${ggmlTypeName(type)}; one of ${usable.join(', ')}`);
  }
  let pattern: RegExp;
  try {
    pattern = new RegExp(re);
  } catch (e) {
    throw new EngineError('bad_argument', `--tensor-type ${s}: invalid regular expression: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { pattern, type, source: s };
}

/** Model facts llama_tensor_get_type looks at. */
export interface MixContext {
  readonly nLayer: number;
  readonly nExpert: number;
  /** n_head / n_head_kv. */
  readonly nGqa: number;
}

export interface TypeChoice {
  readonly type: GGMLType;
  /** Set when the row length forced llama.cpp's fallback away from this type. */
  readonly fallbackFrom?: GGMLType;
  /** The override that chose the type, if any. */
  readonly override?: string;
}

type Category = 'output' | 'token_embd' | 'attn_v' | 'attn_k' | 'attn_q' | 'attn_output' | 'ffn_up' | 'ffn_gate' | 'ffn_down' | 'other';

// tensor_get_category: substring tests in this order (so attn_kv_b counts as attn_v-like, ffn_gate_exps as ffn_gate).
function category(name: string): Category {
  if (name === 'output.weight') return 'output';
  if (name === 'token_embd.weight') return 'token_embd';
  if (name.includes('attn_qkv.weight') || name.includes('attn_kv_b.weight') || name.includes('attn_v.weight')) return 'attn_v';
  if (name.includes('attn_k.weight')) return 'attn_k';
  if (name.includes('attn_q.weight')) return 'attn_q';
  if (name.includes('attn_output.weight')) return 'attn_output';
  if (name.includes('ffn_up')) return 'ffn_up';
  if (name.includes('ffn_gate')) return 'ffn_gate';
  if (name.includes('ffn_down')) return 'ffn_down';
  return 'other';
}

/** tensor_allows_quantization, reduced to the tensors these architectures have. */
export function isQuantizable(t: TensorPlan): boolean {
  return t.dims.length >= 2 && t.name.endsWith('weight') && !t.name.includes('_norm.weight') && !t.name.includes('ffn_gate_inp.weight');
}

function useMoreBits(i: number, n: number): boolean {
  return i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;
}

function layerOf(name: string): number {
  const m = /^blk\.(\d+)\./.exec(name);
  if (m === null) throw new EngineError('model_invalid', `cannot determine the layer of tensor ${name}`, { tensor: name });
  return Number(m[1]);
}

function blockSize(t: GGMLType): number {
  return GGML_TYPE_GEOMETRY[t]!.blockSize;
}

/** tensor_type_fallback: the type llama.cpp uses when rows are not whole blocks of `t`. */
function fallback(t: GGMLType, ncols: number): GGMLType {
  if (ncols % blockSize(t) === 0) return t;
  let r: GGMLType;
  switch (t) {
    case GGMLType.IQ4_XS: r = GGMLType.IQ4_NL; break;
    case GGMLType.Q2_K:
    case GGMLType.Q3_K: r = GGMLType.Q4_0; break;
    case GGMLType.Q4_K: r = GGMLType.Q5_0; break;
    case GGMLType.Q5_K: r = GGMLType.Q5_1; break;
    case GGMLType.Q6_K: r = GGMLType.Q8_0; break;
    default: r = t; // a 32-block type has nothing smaller to fall back to
  }
  return ncols % blockSize(r) === 0 ? r : GGMLType.F16;
}

/**
 * Chooses the type of every tensor, in order (llama.cpp's attn_v counter depends on the order). Overrides apply
 * to quantizable tensors whatever the mix; each must match at least one of them.
 */
export function chooseTypes(tensors: readonly TensorPlan[], mix: QuantMix, overrides: readonly TensorTypeOverride[], ctx: MixContext): TypeChoice[] {
  const def = DEFAULT_TYPE[mix];
  const quantized = def !== GGMLType.F32 && def !== GGMLType.F16;
  const nAttnV = tensors.filter((t) => category(t.name) === 'attn_v').length;
  let iAttnV = 0;
  let iFfnDown = 0;
  const used = new Set<TensorTypeOverride>();
  const out = tensors.map((t): TypeChoice => {
    if (!isQuantizable(t)) return { type: GGMLType.F32 };
    const cat = category(t.name);
    const ov = overrides.find((o) => o.pattern.test(t.name));
    let type: GGMLType = def;
    if (ov !== undefined) {
      used.add(ov);
      type = ov.type;
    } else if (quantized) {
      type = mixRule(t, cat, def, mix, ctx, { iAttnV, nAttnV, iFfnDown });
    }
    // As in llama.cpp, only the mix rule advances the counters: overridden tensors are not counted.
    if (ov === undefined && quantized) {
      if (cat === 'attn_v') iAttnV++;
      if (cat === 'ffn_down') iFfnDown++;
    }
    const final = fallback(type, t.dims[0]!);
    return {
      type: final,
      ...(final !== type ? { fallbackFrom: type } : {}),
      ...(ov !== undefined ? { override: ov.source } : {}),
    };
  });
  for (const o of overrides) {
    if (!used.has(o)) throw new EngineError('bad_argument', `--tensor-type ${o.source} matches no quantizable tensor of this model (1D tensors and ffn_gate_inp stay F32)`);
  }
  return out;
}

interface Counters {
  readonly iAttnV: number;
  readonly nAttnV: number;
  readonly iFfnDown: number;
}

// llama_tensor_get_type_impl for ftypes Q4_0, Q8_0, Q4_K_M, Q5_K_M and IQ4_XS without an imatrix.
function mixRule(t: TensorPlan, cat: Category, def: GGMLType, mix: QuantMix, ctx: MixContext, c: Counters): GGMLType {
  const km = mix === 'Q4_K_M' || mix === 'Q5_K_M';
  switch (cat) {
    case 'output': {
      // Untied output (every synthetic model has output.weight), so token_embd keeps the default type.
      if (t.dims[0]! % blockSize(def) !== 0) return GGMLType.Q8_0;
      return def === GGMLType.Q8_0 ? def : GGMLType.Q6_K;
    }
    case 'attn_v': {
      let r = def;
      if (mix === 'IQ4_XS' && ctx.nGqa >= 4) r = GGMLType.Q5_K;
      else if (km && useMoreBits(c.iAttnV, c.nAttnV)) r = GGMLType.Q6_K;
      // "for the 8-expert model, bumping this to Q8_0 trades just ~128MB"
      if (ctx.nExpert === 8) r = GGMLType.Q8_0;
      return r;
    }
    case 'attn_k':
      return ctx.nExpert === 8 ? GGMLType.Q8_0 : def;
    case 'ffn_down': {
      // Dense models count ffn_down tensors; MoE models read the layer from the name (experts are not in order).
      const i = ctx.nExpert > 1 ? layerOf(t.name) : c.iFfnDown;
      const n = ctx.nLayer;
      if (mix === 'Q4_K_M') return useMoreBits(i, n) ? GGMLType.Q6_K : def;
      if (mix === 'IQ4_XS' && i < Math.trunc(n / 8)) return GGMLType.Q5_K;
      if (mix === 'Q5_K_M' && useMoreBits(i, n)) return GGMLType.Q6_K;
      return def;
    }
    case 'attn_output':
      return ctx.nExpert === 8 && (mix === 'Q4_K_M' || mix === 'IQ4_XS') ? GGMLType.Q5_K : def;
    default:
      return def;
  }
}
