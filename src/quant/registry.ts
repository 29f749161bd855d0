// Which ggml types this engine can encode and decode, and the row-level entry points the rest of the engine uses.
import { EngineError } from '../core/errors.ts';
import { GGML_TYPE_GEOMETRY, GGMLType, ggmlTypeName, isKnownGGMLType } from '../core/ggml-type.ts';
import type { QuantTraits } from './types.ts';
import { BF16_TRAITS, F16_TRAITS, F32_TRAITS } from './float.ts';
import { Q4_0_TRAITS, Q4_1_TRAITS, Q5_0_TRAITS, Q5_1_TRAITS, Q8_0_TRAITS, Q8_1_TRAITS } from './legacy.ts';
import { Q2_K_TRAITS } from './q2_k.ts';
import { Q3_K_TRAITS } from './q3_k.ts';
import { Q4_K_TRAITS } from './q4_k.ts';
import { Q5_K_TRAITS } from './q5_k.ts';
import { Q6_K_TRAITS } from './q6_k.ts';
import { Q8_K_TRAITS } from './q8_k.ts';
import { IQ4_NL_TRAITS, IQ4_XS_TRAITS } from './iq4.ts';

const ALL: readonly QuantTraits[] = [
  F32_TRAITS,
  F16_TRAITS,
  BF16_TRAITS,
  Q4_0_TRAITS,
  Q4_1_TRAITS,
  Q5_0_TRAITS,
  Q5_1_TRAITS,
  Q8_0_TRAITS,
  Q8_1_TRAITS,
  Q2_K_TRAITS,
  Q3_K_TRAITS,
  Q4_K_TRAITS,
  Q5_K_TRAITS,
  Q6_K_TRAITS,
  Q8_K_TRAITS,
  IQ4_NL_TRAITS,
  IQ4_XS_TRAITS,
];

export const QUANT_TRAITS: ReadonlyMap<GGMLType, QuantTraits> = new Map(ALL.map((t) => [t.type, t]));

const SUPPORTED_NAMES = ALL.map((t) => t.name).join(', ');

/** The codec for a ggml type id; throws EngineError('unsupported_quant') naming the type, its id and the tensor. */
export function quantTraits(type: number, tensor?: string): QuantTraits {
  const traits = QUANT_TRAITS.get(type as GGMLType);
  if (traits !== undefined) return traits;
  const what = isKnownGGMLType(type) ? `ggml type ${ggmlTypeName(type)} (id ${type})` : `unknown ggml type (id ${type})`;
  const of = tensor !== undefined ? ` of tensor ${tensor}` : '';
  throw new EngineError(
    'unsupported_quant',
    `${what}${of} is not supported; supported: ${SUPPORTED_NAMES}; requantize the model with llama-quantize to one of them`,
    tensor !== undefined ? { tensor } : {},
  );
}

/**
 * Bytes of a row of `n` elements. Works for every type ggml defines (so tensors we cannot compute on can still be
 * sized and skipped); unknown ids throw unsupported_quant, n that is not whole blocks throws bad_argument.
 */
export function rowBytes(type: number, n: number): number {
  const g = GGML_TYPE_GEOMETRY[type];
  if (g === undefined) return quantTraits(type).typeSize; // throws: no geometry means no traits either
  if (!Number.isSafeInteger(n) || n < 0 || n % g.blockSize !== 0) {
    throw new EngineError('bad_argument', `${n} elements of ggml type ${ggmlTypeName(type)} are not a whole number of ${g.blockSize}-element blocks`);
  }
  return (n / g.blockSize) * g.typeSize;
}

/** Decodes `n` elements of `type` from `bytes` into a new Float32Array. */
export function dequantize(type: number, bytes: Uint8Array, n: number): Float32Array {
  const traits = quantTraits(type);
  const out = new Float32Array(n);
  traits.dequantizeRow(bytes, out, n);
  return out;
}

/** Encodes all of `f32` as `type` with ggml's reference quantizer; the length must be whole blocks. */
export function quantize(type: number, f32: Float32Array): Uint8Array {
  const traits = quantTraits(type);
  const out = new Uint8Array(rowBytes(type, f32.length));
  traits.quantizeRow(f32, out, f32.length);
  return out;
}
